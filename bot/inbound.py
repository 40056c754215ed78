"""Handles one decrypted WeCom message exactly once: de-duplicate, identify, route, persist, reply."""
from __future__ import annotations

import asyncio
import logging
import zlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import cards, conversation, outbox
from bot.context import Context, Reply, Services
from bot.db import BATCH_LOCK_TIMEOUT_MS
from bot.errors import report_error
from bot.models import ConversationState, InboundEvent, User
from bot.outbox.ordering import WAIT_AT_MOST, replies_held
from bot.router import Match
from integrations.wecom.messages import Inbound, text_reply, update_button_reply

log = logging.getLogger(__name__)
# Built once: statement construction is a measurable share of a callback's cost.
USER_AND_STATE = (
    # The third column: a message the member is still waiting for holds this reply (bot.outbox.ordering).
    select(User, ConversationState, replies_held(User.wecom_userid, bindparam("held_since")))
    .outerjoin(ConversationState, ConversationState.user_id == User.id)
    .where(User.wecom_userid == bindparam("userid"))
    .with_for_update(of=User)  # one user's messages go one at a time, on any replica
)


@dataclass
class Outcome:
    """What the web layer answers: the inner reply XML (None for an empty 200) and whether it was a repeat."""

    reply_xml: str | None
    duplicate: bool = False
    record: dict[str, object] | None = field(default=None, repr=False)  # the de-duplication row to insert


class Deadline:
    """Decides, without a race, whether a reply goes back passively or (when late) through the outbox."""

    def __init__(self) -> None:
        self.late = False
        self.claimed = False

    def claim_passive(self) -> bool:
        if self.late:
            return False
        self.claimed = True
        return True


@dataclass
class _Pending:
    inbound: Inbound
    deadline: Deadline
    future: asyncio.Future[Outcome]


class _Lane:
    """A queue and one worker; a user always maps to the same lane, so their messages stay in order."""

    def __init__(self, run_batch: Callable[[list[_Pending]], Awaitable[None]], max_batch: int) -> None:
        self.queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self.run_batch, self.max_batch = run_batch, max_batch
        self.worker: asyncio.Task[None] | None = None

    def submit(self, item: _Pending) -> None:
        self.queue.put_nowait(item)
        if self.worker is None or self.worker.done():
            self.worker = asyncio.create_task(self._work(), name="inbound-lane")

    async def _work(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self.max_batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            await self.run_batch(batch)


class InboundProcessor:
    """Group commit: callbacks waiting together share one transaction, which is what makes SQLite keep up
    with bursts; if anything in a batch fails, each callback is redone alone so none is lost or doubled."""

    RECENT_KEYS = 20_000
    SEEN_REFRESH = timedelta(minutes=10)
    MAX_BATCH = 64

    def __init__(self, services: Services) -> None:
        self.services = services
        self._recent: OrderedDict[str, str | None] = OrderedDict()
        lanes = 1 if services.settings.database.url.startswith("sqlite") else 4
        self._lanes = [_Lane(self._run_batch, self.MAX_BATCH) for _ in range(lanes)]

    async def handle(self, inbound: Inbound, deadline: Deadline | None = None) -> Outcome:
        key = inbound.dedupe_key
        if key in self._recent:  # WeCom's retry of a callback this process just answered
            return Outcome(self._recent[key], duplicate=True)
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        lane = self._lanes[zlib.crc32(inbound.user_id.encode()) % len(self._lanes)]
        lane.submit(_Pending(inbound, deadline or Deadline(), future))
        return await future

    async def close(self) -> None:
        for lane in self._lanes:
            if lane.worker is not None:
                lane.worker.cancel()

    async def _run_batch(self, batch: list[_Pending]) -> None:
        batch = [item for item in batch if not self._answer_if_recent(item)]
        if len(batch) > 1:
            try:
                async with self.services.sessions() as session:
                    async with session.begin():
                        if session.bind.dialect.name == "postgresql":  # see bot.db.lock_row
                            await session.execute(text(f"SET LOCAL lock_timeout = {BATCH_LOCK_TIMEOUT_MS}"))
                        outcomes = [await self._process(session, i.inbound, i.deadline) for i in batch]
                        await _record(session, outcomes)
                    outbox.notify_if_enqueued(session, self.services.outbox_wakeup)
            except Exception:  # noqa: BLE001 - redo one by one below; the culprit gets its own error there
                log.debug("batch of %s failed, redoing each alone", len(batch), exc_info=True)
            else:
                for item, outcome in zip(batch, outcomes, strict=True):
                    self._remember(item.inbound.dedupe_key, outcome.reply_xml)
                    _resolve(item.future, outcome)
                return
        for item in batch:
            if self._answer_if_recent(item):
                continue
            try:
                _resolve(item.future, await self._handle_alone(item.inbound, item.deadline))
            except Exception as exc:  # noqa: BLE001 - handed to the caller, which reports it
                if not item.future.done():
                    item.future.set_exception(exc)

    def _answer_if_recent(self, item: _Pending) -> bool:
        key = item.inbound.dedupe_key
        if key in self._recent:
            _resolve(item.future, Outcome(self._recent[key], duplicate=True))
            return True
        return False

    async def _handle_alone(self, inbound: Inbound, deadline: Deadline) -> Outcome:
        key = inbound.dedupe_key
        sessions = self.services.sessions
        try:
            async with sessions() as session:
                async with session.begin():
                    outcome = await self._process(session, inbound, deadline)
                    await _record(session, [outcome])
                outbox.notify_if_enqueued(session, self.services.outbox_wakeup)
        except IntegrityError:
            # The same callback was handled first (before a restart, or on another replica): the unique key
            # rolled this attempt back, so answer as the first one did.
            async with sessions() as session:
                seen = (await session.execute(
                    select(InboundEvent.reply_xml).where(InboundEvent.dedupe_key == key))).first()
            if seen is None:
                raise  # a handler's own constraint, not a repeat: the error pipeline takes it
            outcome = Outcome(seen.reply_xml, duplicate=True)
        self._remember(key, outcome.reply_xml)
        return outcome

    def _remember(self, key: str, reply_xml: str | None) -> None:
        self._recent[key] = reply_xml
        if len(self._recent) > self.RECENT_KEYS:
            self._recent.popitem(last=False)

    async def _process(self, session: AsyncSession, inbound: Inbound, deadline: Deadline) -> Outcome:
        """Runs the handler in the caller's transaction; `_record` then adds the de-duplication row to it."""
        now = self.services.clock()
        found = (await session.execute(USER_AND_STATE, {"userid": inbound.user_id,
                                                         "held_since": now - WAIT_AT_MOST})).first()
        user, state, held = (found[0], found[1], bool(found[2])) if found else (None, None, False)
        behind = False
        if user is None or user.pending or not user.active:
            reply = await self._stranger(session, inbound, user, now)
        else:
            if user.last_seen_at is None or now - user.last_seen_at > self.SEEN_REFRESH:
                user.last_seen_at = now
            state = await conversation.live(session, state, now)
            # Asked (by the user query above) before the handler queues anything: a message the member is
            # still waiting for (a chart, bot.outbox.ordering) must not be overtaken by this reply.
            behind = held
            reply = await self._route(session, inbound, user, state, now)
        behind = behind and bool(reply and reply.text and not reply.replace_button)
        reply_xml = self._reply_xml(inbound, reply, now)
        if reply_xml is not None and (behind or not deadline.claim_passive()):
            if reply is not None and reply.text:
                outbox.enqueue(session, "text", {"content": reply.text}, to=[inbound.user_id], now=now,
                               priority=outbox.Priority.HIGH)  # the member is waiting for this answer
            reply_xml = None
        return Outcome(reply_xml, record={"dedupe_key": inbound.dedupe_key, "user_id": inbound.user_id,
                                          "received_at": now, "reply_xml": reply_xml})

    async def _stranger(self, session: AsyncSession, inbound: Inbound, user: User | None,
                        now: datetime) -> Reply:
        """Records an unknown member so an admin can grant roles, and tells them whom to ask."""
        if user is None:
            session.add(User(wecom_userid=inbound.user_id, name="", roles=[], last_seen_at=now))
            log.info("new WeCom member %s recorded as pending", inbound.user_id)
        text = self.services.templates.render(
            "core/pending_user.txt.j2", contact=self.services.settings.plant.admin_contact,
            userid=inbound.user_id, inactive=user is not None and not user.active)
        return Reply(text=text) if inbound.msg_type == "text" or inbound.event != "view" else Reply()

    async def _route(self, session: AsyncSession, inbound: Inbound, user: User,
                     state: ConversationState | None, now: datetime) -> Reply | None:
        dispatcher = self.services.dispatcher
        assert dispatcher is not None
        templates = self.services.templates
        ctx = Context(self.services, session, user, inbound, now, state)
        match: Match | None = None
        if inbound.msg_type == "text":
            match = dispatcher.match_text(inbound.content or "", state.name if state else None)
        elif inbound.event in ("scancode_waitmsg", "scancode_push"):
            scanned = await self._verify_scan(ctx)
            if isinstance(scanned, Reply):
                return scanned
            match = dispatcher.match_key("scan", scanned)
        elif inbound.event == "template_card_event":
            # Every tap brings a new single-use code for its card: kept for every feature's next replacement.
            await cards.note_tap(session, inbound.task_id, user.wecom_userid, inbound.response_code, now)
            match = dispatcher.match_key("button", inbound.event_key or "")
        elif inbound.event == "click":
            match = dispatcher.match_key("menu", inbound.event_key or "")
        elif inbound.msg_type == "image":
            match = dispatcher.match_media("image", state.name if state else None)
            if match is None:
                return Reply(text=templates.render("core/unsupported.txt.j2"))
        elif inbound.event:
            match = dispatcher.match_key("event", inbound.event)
            if match is None:
                return None  # view, enter_agent and other events need no answer
        else:
            return Reply(text=templates.render("core/unsupported.txt.j2"))
        if match is None:
            return Reply(text=templates.render("core/not_understood.txt.j2"))
        if not dispatcher.allowed(match.route, user):
            return Reply(text=templates.render("core/forbidden.txt.j2",
                                               contact=self.services.settings.plant.admin_contact))
        ctx.regex, ctx.args = match.regex, match.args
        return await match.route.handler(ctx)

    async def _verify_scan(self, ctx: Context) -> str | Reply:
        from bot.qr import QrError

        signer = self.services.qr
        text = ctx.inbound.scan_result or ""
        try:
            if signer is None:
                raise QrError("malformed", "no QR secret configured")
            ctx.qr = signer.verify(text, now=ctx.now)
        except QrError as exc:
            log.warning("refused QR from %s: %s (%r)", ctx.user.wecom_userid, exc.reason, text[:200])
            return Reply(text=exc.message_zh)
        return ctx.qr.kind

    def _reply_xml(self, inbound: Inbound, reply: Reply | None, now: datetime) -> str | None:
        if reply is None:
            return None
        create_time = int(now.timestamp())
        if reply.replace_button:
            return update_button_reply(inbound.user_id, inbound.corp_id, reply.replace_button, create_time)
        if reply.text:
            return text_reply(inbound.user_id, inbound.corp_id, reply.text, create_time)
        return None


async def _record(session: AsyncSession, outcomes: list[Outcome]) -> None:
    """Inserted after the handlers, so a repeated callback conflicts here and rolls back what they did."""
    await session.flush()
    await session.execute(insert(InboundEvent), [o.record for o in outcomes])


def _resolve(future: asyncio.Future[Outcome], outcome: Outcome) -> None:
    if not future.done():  # the caller may have given up waiting
        future.set_result(outcome)


async def process_with_deadline(processor: InboundProcessor, inbound: Inbound, budget_s: float) -> Outcome:
    """Answers within WeCom's window; work that overruns finishes behind and replies through the outbox."""
    deadline = Deadline()
    task = asyncio.ensure_future(processor.handle(inbound, deadline))
    done, _ = await asyncio.wait({task}, timeout=budget_s)
    if task in done:
        return task.result()
    if deadline.claimed:
        return await task  # the reply is committing right now; waiting is shorter than resending
    deadline.late = True
    task.add_done_callback(_log_late_failure)
    return Outcome(None)


def _log_late_failure(task: asyncio.Future[Outcome]) -> None:
    if not task.cancelled() and task.exception() is not None:
        report_error("late callback", task.exception())  # type: ignore[arg-type]
