"""A training video as a WeCom `video` message (`看视频`), for items whose MP4 fits WeCom's 10 MB limit.

WeCom says nothing when a member plays a video message, so this is a convenience, never progress: the reply
beside it links the page, where watching counts. The message leaves through the outbox with a media step: the
sender reads the file (producer `training_video`, registered in opsbot/app.py), uploads it with
media/upload?type=video, and sends the media_id with the title and description."""
from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot.outbox import MediaFile, MediaStep, Priority, Producer
from bot.settings import Settings
from bot.templates import Templates
from bot.training.catalog import Item, load_catalog
from bot.training.settings import TrainingSettings

PRODUCER = "training_video"
MB = 1024 * 1024
TITLE_BYTES, DESCRIPTION_BYTES = 128, 512  # WeCom's limits for a video message

Unsendable = Literal["external", "too_big", "broken"]


def why_not_sendable(item: Item, settings: TrainingSettings) -> Unsendable | None:
    """None when the item can go as a video message; else why the member must open the page instead."""
    if item.video is None:
        return "external" if item.url else "broken"
    if not item.playable:
        return "broken"
    if item.video_bytes > settings.video_message_max_mb * MB:
        return "too_big"
    return None


def cut(text: str, max_bytes: int) -> str:
    """At most `max_bytes` of UTF-8, never splitting a character."""
    data = text.encode("utf-8")
    return text if len(data) <= max_bytes else data[:max_bytes].decode("utf-8", "ignore")


def queue_video(session: AsyncSession, item: Item, userid: str, templates: Templates, now: datetime) -> None:
    """HIGH: it answers what the member just asked for."""
    description = templates.render("training/video_description.txt.j2", item=item).strip()
    payload = {"title": cut(item.title, TITLE_BYTES), "description": cut(description, DESCRIPTION_BYTES)}
    outbox.enqueue(session, "video", payload, to=[userid], priority=Priority.HIGH, now=now,
                   media=MediaStep(PRODUCER, {"code": item.code, "version": item.version}, kind="video"))


def producers(settings: Settings) -> dict[str, Producer]:
    """The sender's producer for training videos (opsbot/app.py registers it)."""
    training: TrainingSettings = settings.feature("training")

    async def video(args: dict[str, Any], _now: datetime) -> MediaFile:
        item = load_catalog(training.catalog_path, training.media_path).get(str(args.get("code", "")))
        if item is None or item.video is None or why_not_sendable(item, training) is not None:
            # The catalog changed after the member asked: retried with backoff (the file may be put back).
            raise FileNotFoundError(f"training item {args.get('code')!r} has no video that fits a message now")
        data = await asyncio.to_thread(item.video.read_bytes)
        return MediaFile(f"{item.code}.mp4", "video/mp4", data)

    return {PRODUCER: video}
