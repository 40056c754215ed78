"""The demo's week of patrols: made by the real dispatcher and service, with some NG (each on the issue list),
one 漏检 and one round flagged as too fast, and no cards queued for the past."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import OutboxMessage
from bot.models.issues import Issue
from bot.models.patrols import PatrolRound
from opsbot.demo.patrols import seed_patrols
from tests.bot.patrols.support import PATROLS, seed_plant
from tests.conftest import make_settings

pytestmark = pytest.mark.db


async def test_a_week_of_history(session_factory: async_sessionmaker[AsyncSession], db_url: str) -> None:
    settings = make_settings(db_url, patrols=dict(PATROLS))
    now = datetime(2026, 3, 9, 6, 0, tzinfo=UTC)
    async with session_factory.begin() as session:
        await seed_plant(session)
        counts = await seed_patrols(session, settings, now)
        again = await seed_patrols(session, settings, now)
    async with session_factory() as session:
        statuses = dict((await session.execute(select(PatrolRound.status, func.count()).group_by(
            PatrolRound.status))).all())
        issues = await session.scalar(select(func.count()).select_from(Issue).where(Issue.source == "patrol"))
        fast = await session.scalar(select(func.count()).select_from(PatrolRound).where(PatrolRound.too_fast))
        queued = await session.scalar(select(func.count()).select_from(OutboxMessage))
    assert again == {}
    assert statuses["missed"] == 1 and statuses["done"] == counts["patrol rounds done"] > 20
    assert counts["patrol NG answers"] >= issues > 0 and fast >= 1
    assert queued == 0
