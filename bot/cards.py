"""A card we sent and can update: every feature sends its state cards here and asks for them to follow the state.

The feature says what each recipient should see now (`card_for(userid)`); this module knows which response codes
it still holds for the card (the send's, and each tap's), spends one code per distinct card, and skips recipients
who already see that card. A recipient left without a usable code keeps the old card until their next tap, which
brings a new code (every card keeps a button for that). WeCom's rules live in integrations/wecom/cards.py.
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot.db import lock_row
from bot.models import OutboxMessage
from bot.models.cards import SentCard
from integrations.wecom.cards import check_replaceable, code_usable, replacement, update_payload

__all__ = ["Refreshed", "check_replaceable", "keys_sent", "note_tap", "refresh", "send"]

log = logging.getLogger(__name__)
CardFor = Callable[[str], dict[str, Any]]


@dataclass(frozen=True)
class Refreshed:
    """What a refresh did: updates queued, recipients already up to date, recipients left stale (no code)."""

    queued: int = 0
    current: int = 0
    stale: int = 0


def digest(card: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(card, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def send(session: AsyncSession, key: str, card: dict[str, Any], *, to: list[str], now: datetime,
         priority: outbox.Priority = outbox.Priority.HIGH) -> None:
    """Queues a state card and remembers it, so later changes can replace it; `key` also makes the send once-only."""
    check_replaceable(card)
    outbox.enqueue(session, "template_card", card, to=to, idempotency_key=key, priority=priority, now=now)
    session.add(SentCard(key=key, task_id=card["task_id"], recipients=list(to), codes=[],
                         shown=dict.fromkeys(to, digest(card)), created_at=now, updated_at=now))


async def note_tap(session: AsyncSession, task_id: str | None, userid: str, code: str | None,
                   now: datetime) -> SentCard | None:
    """Keeps the single-use code a tap brought (the newest for that recipient); None for cards we do not track."""
    if not task_id:
        return None
    card = await _locked(session, SentCard.task_id == task_id)
    if card is None or not code or userid not in card.recipients:
        return card
    await _take_send_code(session, card)
    codes = [c for c in card.codes if c["code"] != code]
    codes.append({"code": code, "holders": [userid], "at": now.isoformat()})
    card.codes, card.updated_at = codes, now
    return card


async def keys_sent(session: AsyncSession, keys: list[str]) -> list[str]:
    """Which of these card keys were sent (escalation levels, approvals: not every possible card exists)."""
    return list(await session.scalars(select(SentCard.key).where(SentCard.key.in_(keys))))


async def refresh(session: AsyncSession, key: str, card_for: CardFor, *, now: datetime) -> Refreshed:
    """Replaces the card for every recipient who does not see `card_for(userid)` yet, one code per distinct card."""
    card = await _locked(session, SentCard.key == key)
    if card is None:
        return Refreshed()
    await _take_send_code(session, card)
    wanted: dict[str, tuple[str, dict[str, Any]]] = {}
    for userid in card.recipients:
        new = replacement(card_for(userid), card.task_id)
        wanted[userid] = (digest(new), new)
    behind = {u: w for u, w in wanted.items() if card.shown.get(u) != w[0]}
    result = Refreshed(current=len(wanted) - len(behind))
    if not behind:
        return result
    if await _rewrite_unsent(session, card, behind):
        return Refreshed(queued=1, current=result.current)
    groups: dict[str, list[str]] = {}
    for userid, (mark, _) in behind.items():
        groups.setdefault(mark, []).append(userid)
    codes = sorted((c for c in card.codes if code_usable(datetime.fromisoformat(c["at"]), now)),
                   key=lambda c: c["at"], reverse=True)
    chosen = _assign(groups, codes)
    shown, spent, queued = dict(card.shown), set(), 0
    for mark, users in groups.items():
        code = chosen.get(mark)
        if code is None:
            continue
        card.updates += 1
        outbox.enqueue(session, "update_template_card", update_payload(behind[users[0]][1]), to=users,
                       channel="card_update", response_code=code["code"], now=now,
                       idempotency_key=f"{key}:u{card.updates}", priority=outbox.Priority.HIGH)
        spent.add(code["code"])
        shown.update(dict.fromkeys(users, mark))
        queued += 1
    stale = sum(len(users) for mark, users in groups.items() if mark not in chosen)
    if stale:
        log.info("card %s: %d recipient(s) keep an old card until their next tap (no response code left)", key, stale)
    card.codes = [c for c in card.codes if c["code"] not in spent and code_usable(datetime.fromisoformat(c["at"]), now)]
    card.shown, card.updated_at = shown, now
    return Refreshed(queued, result.current, stale)


def _assign(groups: dict[str, list[str]], codes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A code a member holds goes to their group first (a tap's code surely reaches the tapper); then any code left."""
    chosen: dict[str, dict[str, Any]] = {}
    free = list(codes)
    for mark, users in groups.items():
        mine = [c for c in free if set(c["holders"]) & set(users)]
        held = min(mine, key=lambda c: len(c["holders"])) if mine else None  # a tapper's own code before a shared one
        if held is not None:
            chosen[mark] = held
            free.remove(held)
    for mark in groups:
        if mark not in chosen and free:
            chosen[mark] = free.pop(0)
    return chosen


async def _locked(session: AsyncSession, where: Any) -> SentCard | None:
    card_id = await session.scalar(select(SentCard.id).where(where))
    if card_id is None:
        return None
    await lock_row(session, SentCard.id, card_id)  # two taps on one card update its codes one after the other
    return await session.get(SentCard, card_id, populate_existing=True)


async def _take_send_code(session: AsyncSession, card: SentCard) -> None:
    """The send's response code, once the outbox delivered the card; every valid recipient holds it."""
    if card.send_code_taken:
        return
    sent = await session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == card.key))
    if sent is None or sent.status != "sent" or sent.sent_at is None:
        return
    card.send_code_taken = True
    if sent.response_code:
        holders = [u for u in card.recipients if u not in set(sent.invalid_users or [])]
        card.codes = [*card.codes, {"code": sent.response_code, "holders": holders, "at": sent.sent_at.isoformat()}]


async def _rewrite_unsent(session: AsyncSession, card: SentCard, behind: dict[str, tuple[str, dict[str, Any]]]) -> bool:
    """A card not delivered yet leaves with the new state instead (when everyone is to see the same card)."""
    if card.send_code_taken or len({mark for mark, _ in behind.values()}) != 1:
        return False
    mark, new = next(iter(behind.values()))
    done = await session.execute(update(OutboxMessage).where(
        OutboxMessage.idempotency_key == card.key, OutboxMessage.status == "pending").values(payload=new))
    if not done.rowcount:  # type: ignore[attr-defined]
        return False
    card.shown = dict(card.shown) | dict.fromkeys(behind, mark)
    return True
