"""Issue numbers are unique and gap-free per year, also for creates at the same instant on PostgreSQL."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.issues.numbering import next_number, parse_number
from bot.issues.service import IssueService
from bot.issues.settings import IssuesSettings
from bot.models.issues import Issue
from bot.plant_calendar import PlantCalendar, default_shifts

pytestmark = pytest.mark.db
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def service(session: AsyncSession) -> IssueService:
    return IssueService(session, IssuesSettings(), PlantCalendar(ZoneInfo("Asia/Shanghai"), default_shifts()), NOW)


async def test_two_creates_at_the_same_instant_get_distinct_numbers(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory() as session, session.begin():  # the year's counter row exists: it is locked
        await service(session).open_issue(source="chat", title="先有一个")
    started = asyncio.Event()
    waiting = 0

    async def create(title: str) -> str:
        nonlocal waiting
        async with session_factory() as session, session.begin():
            waiting += 1
            if waiting == 2:
                started.set()
            await asyncio.wait_for(started.wait(), 5)  # both transactions are open before either numbers
            opened = await service(session).open_issue(source="chat", title=title)
            return opened.issue.number

    numbers = await asyncio.gather(create("甲"), create("乙"))
    assert sorted(numbers) == ["Q-2026-0002", "Q-2026-0003"]
    async with session_factory() as session:
        assert [i.seq for i in await session.scalars(select(Issue).order_by(Issue.seq))] == [1, 2, 3]


async def test_a_rolled_back_create_leaves_no_gap(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory() as session:
        async with session.begin():
            await next_number(session, 2026)
            await session.rollback()
    async with session_factory() as session, session.begin():
        assert (await service(session).open_issue(source="chat", title="第一个")).issue.number == "Q-2026-0001"


def test_numbers_typed_any_case_read_as_the_canonical_one() -> None:
    assert parse_number("q-2026-12") is None  # four digits at least: Q-2026-0012
    assert parse_number("q-2026-0012") == "Q-2026-0012"
    assert parse_number("Q-2026-00012") == "Q-2026-0012"
    assert parse_number("Q-２026-0012") is None
