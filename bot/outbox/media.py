"""The media step of an outbox message: produce the file, upload it, keep its media_id for retries."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import OutboxMessage

if TYPE_CHECKING:
    from integrations.wecom.client import WeComClient

# WeCom keeps temporary media three days; an upload older than this is redone rather than risk a dead media_id.
MEDIA_REUSABLE_FOR = timedelta(days=3) - timedelta(hours=1)


@dataclass(frozen=True)
class MediaFile:
    filename: str
    content_type: str
    data: bytes


# A producer gets the step's JSON args and the sender's now, and returns the file to upload.
Producer = Callable[[dict[str, Any], datetime], Awaitable[MediaFile]]


class UnknownProducer(Exception):
    """The message names a producer this sender was not given: retrying cannot help."""


async def payload_with_media(row: OutboxMessage, *, client: WeComClient, producers: Mapping[str, Producer],
                             sessions: async_sessionmaker[AsyncSession], now: datetime) -> dict[str, Any]:
    """The payload to send: for a media step, with a media_id uploaded now or kept from an earlier attempt."""
    step = row.media
    if not step:
        return row.payload
    fresh = row.media_id and row.media_uploaded_at and now - row.media_uploaded_at < MEDIA_REUSABLE_FOR
    if not fresh:
        producer = producers.get(step["producer"])
        if producer is None:
            raise UnknownProducer(f"no media producer named {step['producer']!r}")
        file = await producer(step.get("args") or {}, now)
        row.media_id = await client.upload_media(step.get("kind", "image"), file.filename, file.data,
                                                 file.content_type)
        row.media_uploaded_at = now
        async with sessions.begin() as session:  # recorded at once: a retry sends this upload, not a new one
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(
                media_id=row.media_id, media_uploaded_at=now))
    return {**row.payload, "media_id": row.media_id}
