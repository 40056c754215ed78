"""The demo plant opens with a realistic issue list: 30-odd issues across statuses, some overdue, with history."""
from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import utcnow
from bot.models.issues import Issue, IssueEvent
from opsbot.demo.issues import seed_issues
from opsbot.demo.seed import seed_if_empty
from tests.conftest import make_settings

pytestmark = pytest.mark.db


async def test_demo_issue_list(session_factory: async_sessionmaker[AsyncSession], db_url: str) -> None:
    settings = make_settings(db_url)
    now = utcnow()
    await seed_if_empty(session_factory, now, settings.tz)
    async with session_factory.begin() as session:
        counts = await seed_issues(session, settings, now)
    assert counts["issues"] >= 30
    async with session_factory() as session:
        issues = list(await session.scalars(select(Issue)))
        events = await session.scalar(select(func.count()).select_from(IssueEvent))
    statuses = Counter(i.status for i in issues)
    assert set(statuses) == {"new", "in_progress", "to_verify", "closed", "rejected"}
    today = settings.calendar.day_of(now)
    assert sum(1 for i in issues if i.status in ("new", "in_progress") and i.due_on < today) >= 5
    assert all(i.owner_id for i in issues) and all(i.verifier_id != i.owner_id for i in issues)
    assert len({i.number for i in issues}) == len(issues) and (events or 0) > len(issues) * 2
