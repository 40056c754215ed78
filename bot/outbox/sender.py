"""Delivering the outbox: short claims in priority order, each outcome recorded the moment it is known."""
from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import metrics
from bot.db import utcnow
from bot.models import OutboxMessage
from bot.outbox.media import Producer, UnknownProducer, payload_with_media
from bot.outbox.quota import MemberQuota
from bot.settings import OutboxSettings

if TYPE_CHECKING:
    from integrations.wecom.client import WeComClient

log = logging.getLogger(__name__)

# Channels WeCom offers no duplicate check for: a send that may have happened is never repeated blindly.
UNCHECKED_CHANNELS = frozenset({"webhook", "appchat", "card_update"})
PURGE_EVERY = timedelta(minutes=1)
# Covers the client's own retries of one request (4 tries of at most 10 s plus backoff).
FIRST_SEND_WINDOW_S = 120
MAX_DUPLICATE_CHECK_INTERVAL_S = 4 * 3600
RECORDING_CONNECTIONS = 2


class OutboxSender:
    """Drains due rows; a row is claimed before sending so two senders never send the same row twice."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], client: WeComClient,
                 settings: OutboxSettings, wakeup: asyncio.Event,
                 clock: Callable[[], datetime] = utcnow, *, producers: Mapping[str, Producer] | None = None) -> None:
        self.sessions, self.client, self.settings, self.wakeup, self.clock = (
            sessions, client, settings, wakeup, clock)
        self.producers: dict[str, Producer] = dict(producers or {})
        self._engine = sessions.kw["bind"]
        self.quota = MemberQuota(sessions, per_minute=settings.per_member_per_minute)
        self._blocked: dict[str, datetime] = {}  # member -> retry_at, learnt from the database, to spare it
        # Outcomes of a batch's side-by-side sends are recorded over a few connections, not one each: fifty at
        # once emptied PostgreSQL's pool and left the callbacks' lanes waiting for a connection.
        self._recording = asyncio.Semaphore(RECORDING_CONNECTIONS)
        self._next_purge = datetime.min.replace(tzinfo=clock().tzinfo)
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
            if self.wakeup.is_set() and not stop.is_set() and self.settings.coalesce_s > 0:
                await asyncio.sleep(self.settings.coalesce_s)  # a burst's next rows arrive meanwhile

    async def drain_once(self) -> bool:
        """Claims a batch and delivers it: rows to the same target one after another (their order is kept),
        different targets side by side. True when the batch was full."""
        now = self.clock()
        if now >= self._next_purge:
            self._next_purge = now + PURGE_EVERY
            await self.quota.purge(now)
        rows = await self._claim_batch(now)
        if not rows:
            return False
        groups: dict[str, list[OutboxMessage]] = {}
        for row in rows:
            groups.setdefault(_order_key(row), []).append(row)
        allowed = await self._reserve(list(groups.values()), now)
        await asyncio.gather(*(self._deliver_in_order(group) for group in allowed if group))
        return len(rows) == self.settings.batch_size

    async def _reserve(self, groups: list[list[OutboxMessage]], now: datetime) -> list[list[OutboxMessage]]:
        """The per-member counts of a whole claimed batch in one transaction (one per message made 50
        transactions at once, which kept callbacks waiting for SQLite's one connection). A target over its quota
        gives back its first refused row and every later one (its order is kept), due when it has room again."""
        allowed: list[list[OutboxMessage]] = []
        refused: list[tuple[list[OutboxMessage], datetime]] = []
        counted = [(row, list(row.target.get("touser") or []) if row.channel == "app" else [])
                   for rows in groups for row in rows]
        async with self.sessions.begin() as session:
            waits = dict(zip((row.id for row, _ in counted),
                             await self._room_for_all(session, [members for _, members in counted], now),
                             strict=True))
            for rows in groups:
                for index, row in enumerate(rows):
                    if (retry_at := waits[row.id]) is not None:
                        refused.append((rows[index:], retry_at))
                        rows = rows[:index]
                        break
                allowed.append(rows)
            for rows, retry_at in refused:  # not an attempt: nothing was sent, so the claim's count is given back
                await session.execute(update(OutboxMessage).where(OutboxMessage.id.in_([r.id for r in rows])).values(
                    status="pending", attempts=OutboxMessage.attempts - 1, next_attempt_at=retry_at))
        return allowed

    async def _deliver_in_order(self, rows: list[OutboxMessage]) -> None:
        for row in rows:
            try:
                await self._record(row, await self._process(row))
            except Exception:  # noqa: BLE001 - the database failed us: the lease brings the row back
                log.exception("outbox message %s: could not record its outcome", row.id)

    async def _claim_batch(self, now: datetime) -> list[OutboxMessage]:
        """Due rows (and rows whose sender died mid-send) become `sending` with a lease, in one statement."""
        lease_expired = (OutboxMessage.status == "sending") & (OutboxMessage.next_attempt_at <= now)
        due = (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now)
        order = (OutboxMessage.priority, OutboxMessage.next_attempt_at, OutboxMessage.id)
        candidates = select(OutboxMessage.id).where(or_(due, lease_expired)).order_by(*order).limit(
            self.settings.batch_size)
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
            return sorted(claimed.all(), key=lambda row: (row.priority, row.created_at, row.id))

    async def _record(self, row: OutboxMessage, values: dict[str, Any]) -> None:
        """One short transaction per outcome, committed before the next send of this target: on the engine's
        connection directly, since one a message at 40 a second competes with callbacks for SQLite's one
        connection and the ORM session's bookkeeping would only add to it."""
        statement = update(OutboxMessage).where(OutboxMessage.id == row.id).values(**values)
        metrics.outbox_recorded(values.get("status"))
        async with self._recording:
            if self._engine.dialect.name == "sqlite":
                async with self._engine.begin() as conn:
                    await conn.execute(statement)
                return
            async with self._engine.connect() as conn:  # one statement, one round trip: no BEGIN and COMMIT
                await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(statement)

    async def _process(self, row: OutboxMessage) -> dict[str, Any]:
        """Delivers one claimed row and says what to record; WeCom's answers never raise out of here."""
        from integrations.wecom.errors import ContentError, TransientWeComError, WeComError

        resumed = row.send_started_at is not None  # an earlier claim began this send and never recorded it
        try:
            if row.channel in UNCHECKED_CHANNELS:
                if resumed and row.channel != "card_update":
                    return self._give_up(row, "interrupted mid-send; not resent: this channel has no duplicate "
                                              "check, so it may have been delivered")
                await self._record(row, {"send_started_at": self.clock()})
            payload = await payload_with_media(row, client=self.client, producers=self.producers,
                                               sessions=self.sessions, now=self.clock())
            values = await self._deliver(row, payload)
        except ContentError as exc:
            if row.channel == "card_update" and resumed:  # the response code was spent by the earlier try
                return self._sent({"last_error": f"already applied by an interrupted attempt: {exc}"})
            return self._give_up(row, str(exc))
        except TransientWeComError as exc:
            if exc.maybe_delivered and row.channel in ("webhook", "appchat"):
                return self._give_up(row, f"answer lost, may have been delivered; not resent: {exc}")
            # A definite refusal proves nothing left; a lost answer keeps the marker (a card's code may be spent).
            return self._retry_values(row, str(exc)) | ({} if exc.maybe_delivered else {"send_started_at": None})
        except (WeComError, UnknownProducer) as exc:
            return self._give_up(row, str(exc))
        except Exception as exc:  # noqa: BLE001 - network, producer and unexpected errors retry with backoff
            return self._retry_values(row, repr(exc)) | {"send_started_at": None}
        return self._sent(values)

    async def _room_for_all(self, session: AsyncSession, messages: list[list[str]],
                            now: datetime) -> list[datetime | None]:
        """Per message, None once it is counted for every recipient; else when the fullest of them has room. A
        member refused earlier is not asked about again before then (the database is spared)."""
        known: list[datetime | None] = []
        for members in messages:
            waits = [self._blocked[m] for m in members if m in self._blocked and self._blocked[m] > now]
            known.append(max(waits) if waits else None)
        ask = [i for i, members in enumerate(messages) if members and known[i] is None]
        answers = await self.quota.take_many(session, [messages[i] for i in ask], now)
        for i, retry_at in zip(ask, answers, strict=True):
            if retry_at is not None:
                known[i] = retry_at
                if len(set(messages[i])) == 1:  # with several recipients, which one was full is not known
                    member = messages[i][0]
                    self._blocked[member] = max(self._blocked.get(member, retry_at), retry_at)
        return known

    def _sent(self, values: dict[str, Any]) -> dict[str, Any]:
        self.sent += 1
        return {"last_error": None} | values | {"status": "sent", "sent_at": self.clock()}

    def _give_up(self, row: OutboxMessage, error: str) -> dict[str, Any]:
        log.error("outbox message %s failed: %s", row.id, error)
        self.failed += 1
        return {"status": "failed", "last_error": error}

    def _retry_values(self, row: OutboxMessage, error: str) -> dict[str, Any]:
        if row.attempts >= self.settings.max_attempts:
            return self._give_up(row, f"gave up after {row.attempts} attempts: {error}")
        delay = min(300.0, 2 ** row.attempts) * (0.5 + random.random() / 2)
        return {"status": "pending", "last_error": error,
                "next_attempt_at": self.clock() + timedelta(seconds=delay)}

    def _duplicate_window(self, row: OutboxMessage) -> int:
        """WeCom drops the same content to the same members within this window. A first attempt asks only for
        its own client retries; a resend (after a crash or a lost answer) reaches back to the row's creation,
        so its first send is covered. Wider would also drop a later identical message that is really new."""
        if row.attempts <= 1:
            return FIRST_SEND_WINDOW_S
        since = int((self.clock() - row.created_at).total_seconds()) + FIRST_SEND_WINDOW_S
        return max(FIRST_SEND_WINDOW_S, min(since, self.settings.duplicate_check_interval_s,
                                            MAX_DUPLICATE_CHECK_INTERVAL_S))

    async def _deliver(self, row: OutboxMessage, payload: dict[str, Any]) -> dict[str, Any]:
        target = row.target
        if row.channel == "webhook":
            await self.client.webhook_send(target["webhook_key"], row.msgtype, payload)
            return {}
        if row.channel == "appchat":
            await self.client.appchat_send(target["chatid"], row.msgtype, payload)
            return {}
        if row.channel == "card_update":
            result = await self.client.update_template_card(
                target["touser"], target["response_code"], replace_name=payload.get("replace_name"),
                template_card=payload.get("template_card"))
            return {"invalid_users": result.invalid_users}
        # The per-member limit was counted in the database already (count_members=False).
        result = await self.client.send_message(
            row.msgtype, payload, touser=target["touser"], enable_duplicate_check=True,
            duplicate_check_interval=self._duplicate_window(row), count_members=False)
        return {"msgid": result.msgid, "response_code": result.response_code,
                "invalid_users": result.invalid_users}


def _order_key(row: OutboxMessage) -> str:
    """Rows with the same key go one after another, in claim order. Members' messages and the updates of their
    cards share one key (a card's updates carry a new response code each, so the whole target would make two
    updates of one card race, and an older one land last or be refused as used)."""
    target = row.target
    if row.channel in ("app", "card_update"):
        return "members:" + json.dumps(sorted(target.get("touser") or []))
    return row.channel + json.dumps(target, sort_keys=True)
