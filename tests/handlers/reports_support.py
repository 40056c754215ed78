"""Helpers for the reporting handler tests: seeded master data plus people known to the sandbox too."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.models.reports import WorkReport
from bot.qr import QrPayload
from tests.bot.reports.seed import PEOPLE, Seeded, seed
from tests.conftest import Stack


async def seed_stack(stack: Stack) -> Seeded:
    seeded = await seed(stack.services.sessions, with_users=False)
    lines = {1: seeded.line1, 2: seeded.line2}
    for userid, name, roles, line in PEOPLE:
        user = await stack.add_user(userid, name, roles, line_id=lines.get(line or 0))
        seeded.users[userid] = user.id
    return seeded


def op_url(stack: Stack, order: str = "WO-001", seq: str = "10", **kw: Any) -> str:
    """The label's URL on the running bot (the stack's signer was built before the port was known)."""
    assert stack.services.qr is not None
    return f"{stack.bot_url}/h5/q/{stack.services.qr.token(QrPayload('op', (order, seq), **kw))}"


async def reports(stack: Stack) -> list[WorkReport]:
    async with stack.services.sessions() as s:
        return list((await s.scalars(select(WorkReport).order_by(WorkReport.id))).all())


async def report_count(stack: Stack) -> int:
    async with stack.services.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(WorkReport)) or 0)
