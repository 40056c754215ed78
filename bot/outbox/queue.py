"""Writing to the outbox: rows added in the caller's transaction, so a message exists only if its cause does."""
from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import utcnow
from bot.models import OutboxMessage


class Priority(IntEnum):
    """Claim order: a lower value leaves first, whatever waits behind it."""

    URGENT = 0  # andon alerts, escalations: someone must act now
    HIGH = 1  # approvals, confirmations of what the member just did, chat replies
    ROUTINE = 2  # shift summaries, digests, KPI pushes, charts


@dataclass(frozen=True)
class MediaStep:
    """What the sender produces and uploads before it sends: `producer` names a callable given to the sender."""

    producer: str
    args: dict[str, Any] = field(default_factory=dict)
    kind: str = "image"  # media/upload type: image, voice, video, file


def _row_values(msgtype: str, payload: dict[str, Any], *, to: list[str] | None, channel: str, chatid: str | None,
                webhook_key: str | None, response_code: str | None, idempotency_key: str | None,
                priority: Priority, media: MediaStep | None, now: datetime | None) -> dict[str, Any]:
    target: dict[str, Any] = {"touser": to or []}
    if chatid:
        target["chatid"] = chatid
    if webhook_key:
        target["webhook_key"] = webhook_key
    if response_code:
        target["response_code"] = response_code
    at = now or utcnow()
    return {"channel": channel, "target": target, "msgtype": msgtype, "payload": payload,
            "priority": int(priority), "idempotency_key": idempotency_key, "status": "pending", "attempts": 0,
            "media": asdict(media) if media else None, "created_at": at, "next_attempt_at": at}


def enqueue(session: AsyncSession, msgtype: str, payload: dict[str, Any], *, to: list[str] | None = None,
            channel: str = "app", chatid: str | None = None, webhook_key: str | None = None,
            response_code: str | None = None, idempotency_key: str | None = None,
            priority: Priority = Priority.ROUTINE, media: MediaStep | None = None,
            now: datetime | None = None) -> OutboxMessage:
    """Adds a message to the session; `idempotency_key` makes a repeated enqueue a database conflict.

    The default priority is ROUTINE so that a forgotten priority never overtakes what was marked urgent."""
    row = OutboxMessage(**_row_values(msgtype, payload, to=to, channel=channel, chatid=chatid,
                                      webhook_key=webhook_key, response_code=response_code,
                                      idempotency_key=idempotency_key, priority=priority, media=media, now=now))
    session.add(row)
    session.info["outbox_pending"] = True
    return row


async def enqueue_once(session: AsyncSession, key: str, msgtype: str, payload: dict[str, Any], *,
                       to: list[str] | None = None, channel: str = "app", chatid: str | None = None,
                       webhook_key: str | None = None, response_code: str | None = None,
                       priority: Priority = Priority.ROUTINE, media: MediaStep | None = None,
                       now: datetime | None = None) -> OutboxMessage | None:
    """At most one message per key: None (and nothing added) when one exists, even one a concurrent
    transaction is adding, because the insert itself skips a conflicting key instead of failing."""
    await session.flush()
    values = _row_values(msgtype, payload, to=to, channel=channel, chatid=chatid, webhook_key=webhook_key,
                         response_code=response_code, idempotency_key=key, priority=priority, media=media, now=now)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(OutboxMessage).on_conflict_do_nothing(index_elements=["idempotency_key"])
    elif dialect == "sqlite":
        statement = sqlite.insert(OutboxMessage).on_conflict_do_nothing(index_elements=["idempotency_key"])
    else:  # other backends: check first; the unique key still refuses a concurrent twin at commit
        if await is_queued(session, key):
            return None
        statement = insert(OutboxMessage)
    row_id = (await session.execute(statement.values(**values).returning(OutboxMessage.id))).scalar_one_or_none()
    if row_id is None:
        return None
    session.info["outbox_pending"] = True
    return await session.get(OutboxMessage, row_id)


async def is_queued(session: AsyncSession, key: str) -> bool:
    """Whether a message with this key exists: lets a feature skip costly rendering before enqueue_once."""
    await session.flush()
    return await session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)) is not None


def notify_if_enqueued(session: AsyncSession, wakeup: asyncio.Event) -> None:
    """Wakes the sender after a commit that queued messages, so replies leave at once rather than on the next poll."""
    if session.info.pop("outbox_pending", False):
        wakeup.set()
