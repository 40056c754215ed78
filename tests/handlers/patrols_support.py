"""The patrol stack tests' plant, clock and steps: a round dispatched at its slot and walked through the sandbox."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.models import User
from bot.models.patrols import PatrolRound
from bot.qr import QrPayload
from jobs import patrols_dispatch, patrols_escalation
from tests.bot.patrols.support import PATROLS, PEOPLE, SLOT_5S, seed_plant
from tests.conftest import Stack, eventually

# A tiny JPEG: the magic bytes are what the bot checks, the sandbox stores what it is given.
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(range(256)) * 4 + b"\xff\xd9"


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: SLOT_5S + timedelta(minutes=1))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now


def overrides() -> dict[str, dict[str, Any]]:
    return {"patrols": dict(PATROLS)}


async def seed(stack: Stack) -> dict[str, User]:
    async with stack.services.sessions.begin() as session:
        users = await seed_plant(session)
    for userid, name, _ in PEOPLE:
        stack.sandbox.add_user(userid, name)
    return users


async def dispatch(stack: Stack) -> None:
    await patrols_dispatch.run(stack.services, stack.services.clock())


async def escalate(stack: Stack) -> None:
    await patrols_escalation.run(stack.services, stack.services.clock())


async def round_of(stack: Stack, checklist: str = "5S-L1") -> PatrolRound:
    async with stack.services.sessions() as session:
        row = await session.scalar(select(PatrolRound).where(PatrolRound.checklist_code == checklist)
                                   .order_by(PatrolRound.id))
    assert row is not None
    return row


def label(stack: Stack, qr_id: str) -> str:
    assert stack.services.qr is not None
    return stack.services.qr.url(QrPayload("patrol", (qr_id,)))


async def card_with(stack: Stack, userid: str, task_id: str, keys: Iterable[str]) -> dict[str, Any]:
    """The card as `userid` sees it once it offers every button in `keys` (updates travel through the outbox)."""
    wanted = set(keys)

    def shown() -> dict[str, Any] | None:
        try:
            card = stack.sandbox.card_shown(userid, task_id)
        except KeyError:
            return None
        return card if wanted <= {b.get("key") for b in card.get("button_list", [])} else None

    return await eventually(shown)


async def tap(stack: Stack, userid: str, task_id: str, key: str) -> str:
    await card_with(stack, userid, task_id, [key])
    result = await stack.sandbox.tap_card_button(userid, task_id, key)
    return (result.reply or {}).get("Content") or ""
