"""Photos members send with an issue: the callback only records the media_id (the reply must leave within
WeCom's 5 s); `fetch_pending` downloads the bytes right after with media/get, within seconds, retrying
transient failures, and tells the sender once when a photo cannot be kept (not an image, too large, expired).

The bytes are kept in `issue_photos.data`: every replica and every database backup has them, with no shared
folder to configure; photos are capped (10 MB, a few per issue), which a database holds well.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot.issues.settings import IssuesSettings
from bot.models import User
from bot.models.issues import Issue, IssuePhoto, PhotoStatus

if TYPE_CHECKING:
    from bot.context import Services

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=120)
MEDIA_LIFETIME = timedelta(days=3)  # WeCom forgets a media_id after three days
BATCH = 5
IMAGE_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png", b"GIF87a": "image/gif",
               b"GIF89a": "image/gif", b"BM": "image/bmp"}


def image_type(data: bytes) -> str | None:
    """The image type the bytes really are (a Content-Type header can say anything), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in IMAGE_TYPES.items() if data.startswith(magic)), None)


@dataclass(frozen=True)
class Fetched:
    stored: int = 0
    refused: int = 0
    failed: int = 0
    retrying: int = 0


async def claim(services: Services, now: datetime) -> list[tuple[int, str]]:
    """Photos due for a download, taken under a lease with a conditional UPDATE (replicas never both fetch)."""
    async with services.sessions.begin() as session:
        due = list((await session.execute(select(IssuePhoto.id, IssuePhoto.media_id).where(or_(
            (IssuePhoto.status == PhotoStatus.PENDING) & (IssuePhoto.next_attempt_at <= now),
            (IssuePhoto.status == PhotoStatus.FETCHING) & (IssuePhoto.lease_until < now)))
            .order_by(IssuePhoto.id).limit(BATCH))).all())
        taken = []
        for photo_id, media_id in due:
            done = await session.execute(update(IssuePhoto).where(
                IssuePhoto.id == photo_id, or_(IssuePhoto.status == PhotoStatus.PENDING,
                                               IssuePhoto.lease_until < now))
                .values(status=PhotoStatus.FETCHING, lease_until=now + LEASE, attempts=IssuePhoto.attempts + 1))
            if done.rowcount:  # type: ignore[attr-defined]
                taken.append((photo_id, media_id))
    return taken


async def fetch_pending(services: Services, now: datetime) -> Fetched:
    """Downloads what is due, outside any transaction (a slow WeCom never holds the database)."""
    from integrations.wecom.client import MediaTooLarge
    from integrations.wecom.errors import TransientWeComError, WeComError

    settings: IssuesSettings = services.settings.feature("issues")
    limit = settings.max_photo_mb * 1024 * 1024
    counts = {"stored": 0, "refused": 0, "failed": 0, "retrying": 0}
    for photo_id, media_id in await claim(services, now):
        outcome, data, error = "failed", b"", ""
        try:
            if services.client is None:
                raise RuntimeError("no WeCom client")
            data, _content_type = await services.client.download_media(media_id, max_bytes=limit)
            outcome = "stored" if image_type(data) else "refused"
            error = "" if outcome == "stored" else "not_image"
        except MediaTooLarge:
            outcome, error = "refused", "too_large"
        except TransientWeComError as exc:
            outcome, error = "retrying", f"{exc.errcode} {exc.errmsg}"[:255]
        except (WeComError, RuntimeError) as exc:
            outcome, error = "failed", str(exc)[:255]
        counts[await _record(services, photo_id, outcome, data, error, now)] += 1
    return Fetched(**counts)


async def _record(services: Services, photo_id: int, outcome: str, data: bytes, error: str, now: datetime) -> str:
    settings: IssuesSettings = services.settings.feature("issues")
    async with services.sessions.begin() as session:
        photo = await session.get(IssuePhoto, photo_id, with_for_update=True)
        if photo is None:
            return "failed"
        if outcome == "retrying":
            if photo.attempts < settings.photo_attempts and now - photo.created_at < MEDIA_LIFETIME:
                photo.status, photo.error = PhotoStatus.PENDING, error
                photo.next_attempt_at = now + timedelta(seconds=2 ** min(photo.attempts, 8))
                return "retrying"
            outcome = "failed"
        photo.lease_until, photo.error = None, error
        if outcome == "stored":
            photo.status, photo.data, photo.size = PhotoStatus.STORED, data, len(data)
            photo.content_type, photo.sha256 = image_type(data) or "", hashlib.sha256(data).hexdigest()
            photo.stored_at = now
            await _follow(services, session, photo.issue_id, now)
        else:
            photo.status = PhotoStatus.REFUSED if outcome == "refused" else PhotoStatus.FAILED
            await _tell_sender(services, session, photo, now)
            log.info("issue photo %s not kept: %s", photo.id, error)
    outbox.notify_if_enqueued(session, services.outbox_wakeup)
    return outcome


async def _follow(services: Services, session: AsyncSession, issue_id: int, now: datetime) -> None:
    """The issue's cards show the new photo count (a card update, no new message)."""
    from bot.issues.cards import IssueCards
    from bot.issues.service import IssueService

    settings: IssuesSettings = services.settings.feature("issues")
    cards = IssueCards(session, services.templates, settings, now)
    issues = IssueService(session, settings, services.settings.calendar, now)
    issue = await session.get(Issue, issue_id)
    if issue is not None:
        await cards.follow(await issues.view(issue))


async def _tell_sender(services: Services, session: AsyncSession, photo: IssuePhoto, now: datetime) -> None:
    user = await session.get(User, photo.uploaded_by) if photo.uploaded_by else None
    issue = await session.get(Issue, photo.issue_id)
    if user is None or issue is None:
        return
    settings: IssuesSettings = services.settings.feature("issues")
    text = services.templates.render("issues/photo_failed.txt.j2", issue=issue, reason=photo.status,
                                     error=photo.error, max_mb=settings.max_photo_mb)
    await outbox.enqueue_once(session, f"iss:photo:{photo.id}:not_kept", "text", {"content": text},
                              to=[user.wecom_userid], priority=outbox.Priority.HIGH, now=now)
