"""The H5 list's one-statement page (`item_page`) against the reference `list_page` (count, ids, then the rows as
ORM objects), for every status choice, sort and page, with the filters alone and together: owners without a name
or none at all, issues without a line or a due day, ties on the sort keys, and pages past the last."""
from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.issues.listing import SORTS, IssueFilter, ItemPage, ListItem, item_page, list_page
from bot.models import Line, Plant, User
from bot.models.issues import Issue

pytestmark = pytest.mark.db
TODAY = date(2026, 5, 20)
STATUS = {"new": "新建", "in_progress": "处理中", "to_verify": "待验证", "closed": "已关闭", "rejected": "已驳回"}
PRIORITY = {"high": "高", "medium": "中", "low": "低"}
STATUSES = ("open", "new", "in_progress", "to_verify", "done", "closed", "rejected", "")
SIZE = 7


async def seed(sessions: async_sessionmaker[AsyncSession]) -> tuple[list[int], list[int]]:
    rng = random.Random(7)
    async with sessions.begin() as session:
        plant = Plant(code="P", name="测试工厂", timezone="Asia/Shanghai")
        session.add(plant)
        await session.flush()
        lines = [Line(plant_id=plant.id, code=f"L{i}", name=f"{i}线") for i in (1, 2)]
        owners = [User(wecom_userid="m1", name="孙师傅", roles=["maintenance"]),
                  User(wecom_userid="m2", name="", roles=["maintenance"]),  # shown by the WeCom id
                  User(wecom_userid="m3", name="马师傅", roles=["team_lead"])]
        session.add_all(lines + owners)
        await session.flush()
        base = datetime(2026, 5, 1, tzinfo=UTC)
        for seq in range(1, 121):
            created = base + timedelta(hours=rng.randrange(0, 24 * 30) // 3 * 3)  # ties on created_at
            session.add(Issue(
                number=f"Q-2026-{seq:04d}", year=2026, seq=seq, title=f"问题 <{seq}> & 说明", description="",
                category=rng.choice(["设备", "质量", "系统问题"]), priority=rng.choice(["high", "medium", "low"]),
                status=rng.choice(list(STATUS)), owner_id=rng.choice([None, *(o.id for o in owners)]),
                line_id=rng.choice([None, *(line.id for line in lines)]),
                due_on=rng.choice([None, *(TODAY + timedelta(days=d) for d in range(-6, 6))]),
                created_at=created, updated_at=created + timedelta(hours=rng.randrange(0, 3))))
    return [o.id for o in owners], [line.id for line in lines]


def reference(rows_page: object, today: date) -> list[ListItem]:
    """What the list page showed before it was one statement: `list_page`'s rows made into items."""
    return [ListItem(r.issue.number, r.issue.category, PRIORITY.get(r.issue.priority, r.issue.priority),
                     STATUS.get(r.issue.status, r.issue.status), r.issue.title, r.owner, r.line,
                     r.issue.due_on.strftime("%m-%d") if r.issue.due_on else "", r.overdue_days(today))
            for r in rows_page.rows]  # type: ignore[attr-defined]


async def same_page(session: AsyncSession, filters: IssueFilter, page: int) -> ItemPage:
    expected = await list_page(session, filters, TODAY, page, SIZE)
    got = await item_page(session, filters, TODAY, page, SIZE, STATUS, PRIORITY)
    assert (got.total, got.page, got.pages) == (expected.total, expected.page, expected.pages), (filters, page)
    assert got.items == reference(expected, TODAY), (filters, page)
    return got


async def test_every_status_sort_and_page_matches_the_reference(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    await seed(session_factory)
    async with session_factory() as session:
        for status in STATUSES:
            for sort in SORTS:
                filters = IssueFilter(status=status, sort=sort)
                first = await same_page(session, filters, 1)
                assert len(first.items) == min(SIZE, first.total)
                for page in (2, first.pages, first.pages + 1, 99):
                    await same_page(session, filters, page)
        everything = await same_page(session, IssueFilter(status=""), 1)
        assert everything.total == 120 and everything.pages == 18


async def test_filters_alone_and_together_match_the_reference(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    owners, lines = await seed(session_factory)
    cases = [IssueFilter(owner_id=owners[0]), IssueFilter(owner_id=owners[1], status=""),
             IssueFilter(owner_id=999_999), IssueFilter(line_id=lines[1], status="done"),
             IssueFilter(category="设备", sort="priority"), IssueFilter(overdue=True),
             IssueFilter(overdue=True, status="closed"), IssueFilter(overdue=True, status="", sort="new"),
             IssueFilter(status="in_progress", owner_id=owners[2], line_id=lines[0], category="质量", overdue=True),
             IssueFilter(status="", line_id=lines[0], category="系统问题", sort="updated"),
             IssueFilter(sort="no-such-sort")]
    async with session_factory() as session:
        totals = []
        for filters in cases:
            first = await same_page(session, filters, 1)
            totals.append(first.total)
            for page in (2, first.pages + 3):
                await same_page(session, filters, page)
        overdue = await same_page(session, IssueFilter(overdue=True), 1)
        assert all(item.late > 0 for item in overdue.items) and overdue.items
        unnamed = await same_page(session, IssueFilter(owner_id=owners[1], status=""), 1)
        assert {item.owner for item in unnamed.items} == {"m2"}
    assert totals[2] == 0 and all(totals[i] > 0 for i in (0, 1, 3, 4, 5))


async def test_a_page_past_the_last_shows_the_last_page(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await seed(session_factory)
    async with session_factory() as session:
        last = await same_page(session, IssueFilter(status=""), 1000)
        assert (last.page, last.pages, len(last.items)) == (18, 18, 1)
        empty = await item_page(session, IssueFilter(owner_id=999_999), TODAY, 5, SIZE, STATUS, PRIORITY)
        assert (empty.items, empty.total, empty.page, empty.pages) == ([], 0, 1, 1)
