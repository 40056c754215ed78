"""Transactional outbox: rows written with the change that caused them, delivered by `OutboxSender`."""
from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import utcnow
from bot.models import OutboxMessage
from bot.settings import OutboxSettings

if TYPE_CHECKING:
    from integrations.wecom.client import WeComClient

log = logging.getLogger(__name__)


def enqueue(session: AsyncSession, msgtype: str, payload: dict[str, Any], *, to: list[str] | None = None,
            channel: str = "app", chatid: str | None = None, webhook_key: str | None = None,
            response_code: str | None = None, idempotency_key: str | None = None,
            now: datetime | None = None) -> OutboxMessage:
    """Adds a message to the session; `idempotency_key` makes a repeated enqueue a database conflict."""
    target: dict[str, Any] = {"touser": to or []}
    if chatid:
        target["chatid"] = chatid
    if webhook_key:
        target["webhook_key"] = webhook_key
    if response_code:
        target["response_code"] = response_code
    row = OutboxMessage(channel=channel, target=target, msgtype=msgtype, payload=payload,
                        idempotency_key=idempotency_key, status="pending", attempts=0,
                        created_at=now or utcnow(), next_attempt_at=now or utcnow())
    session.add(row)
    session.info["outbox_pending"] = True
    return row


def notify_if_enqueued(session: AsyncSession, wakeup: asyncio.Event) -> None:
    """Wakes the sender after a commit that queued messages, so replies leave at once rather than on the next poll."""
    if session.info.pop("outbox_pending", False):
        wakeup.set()


class OutboxSender:
    """Drains due rows; a row is claimed before sending so two senders never send the same row twice."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], client: WeComClient,
                 settings: OutboxSettings, wakeup: asyncio.Event,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions, self.client, self.settings, self.wakeup, self.clock = (
            sessions, client, settings, wakeup, clock)
        self.sent = 0
        self.failed = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                busy = await self.drain_once()
            except Exception:
                log.exception("outbox drain failed")
                busy = False
            if busy:
                continue
            self.wakeup.clear()
            waiters = [asyncio.ensure_future(self.wakeup.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiters, timeout=self.settings.poll_interval_s,
                               return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()

    async def drain_once(self) -> bool:
        """Claims a batch, sends it, records the results: two short transactions for the whole batch, so the
        sender never crowds out callbacks on a shared connection. True when the batch was full."""
        rows = await self._claim_batch()
        if not rows:
            return False
        outcomes = await asyncio.gather(*(self._send(row) for row in rows))
        async with self.sessions.begin() as session:
            for row, values in zip(rows, outcomes, strict=True):
                await session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(**values))
        return len(rows) == self.settings.batch_size

    async def _claim_batch(self) -> list[OutboxMessage]:
        """Due rows (and rows whose sender died mid-send) become `sending` with a lease, in one statement."""
        now = self.clock()
        lease_expired = (OutboxMessage.status == "sending") & (OutboxMessage.next_attempt_at <= now)
        due = (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now)
        candidates = (select(OutboxMessage.id).where(or_(due, lease_expired))
                      .order_by(OutboxMessage.id).limit(self.settings.batch_size))
        async with self.sessions.begin() as session:
            if session.bind.dialect.name == "postgresql":  # several senders: each takes rows no other holds
                candidates = candidates.with_for_update(skip_locked=True)
            claimed = await session.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(candidates.scalar_subquery()))
                .values(status="sending", attempts=OutboxMessage.attempts + 1,
                        next_attempt_at=now + timedelta(seconds=self.settings.lease_s))
                .returning(OutboxMessage),
                execution_options={"synchronize_session": False})
            return sorted(claimed.all(), key=lambda row: row.id)

    async def _send(self, row: OutboxMessage) -> dict[str, Any]:
        """Delivers one claimed row and says what to record; never raises, so one failure spares the batch."""
        from integrations.wecom.errors import TransientWeComError, WeComError

        try:
            values = await self._deliver(row)
        except TransientWeComError as exc:
            return self._retry_values(row, str(exc))
        except WeComError as exc:
            log.error("outbox message %s refused by WeCom: %s", row.id, exc)
            self.failed += 1
            return {"status": "failed", "last_error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - network and unexpected errors retry with backoff
            return self._retry_values(row, repr(exc))
        self.sent += 1
        return values | {"status": "sent", "sent_at": self.clock(), "last_error": None}

    def _retry_values(self, row: OutboxMessage, error: str) -> dict[str, Any]:
        if row.attempts >= self.settings.max_attempts:
            log.error("outbox message %s gave up after %s attempts: %s", row.id, row.attempts, error)
            self.failed += 1
            return {"status": "failed", "last_error": error}
        delay = min(300.0, 2 ** row.attempts) * (0.5 + random.random() / 2)
        return {"status": "pending", "last_error": error,
                "next_attempt_at": self.clock() + timedelta(seconds=delay)}

    async def _deliver(self, row: OutboxMessage) -> dict[str, Any]:
        target = row.target
        if row.channel == "webhook":
            await self.client.webhook_send(target["webhook_key"], row.msgtype, row.payload)
            return {}
        if row.channel == "appchat":
            await self.client.appchat_send(target["chatid"], row.msgtype, row.payload)
            return {}
        if row.channel == "card_update":
            result = await self.client.update_template_card(
                target["touser"], target["response_code"], replace_name=row.payload.get("replace_name"),
                template_card=row.payload.get("template_card"))
            return {"invalid_users": result.invalid_users}
        # A retry after a lost answer is dropped by WeCom's own duplicate check, so nothing arrives twice.
        result = await self.client.send_message(
            row.msgtype, row.payload, touser=target["touser"], enable_duplicate_check=True,
            duplicate_check_interval=self.settings.duplicate_check_interval_s)
        return {"msgid": result.msgid, "response_code": result.response_code,
                "invalid_users": result.invalid_users}
