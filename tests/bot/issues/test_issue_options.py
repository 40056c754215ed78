"""The list's cached filter choices: a committed ORM change of what they show is seen on the next page, an
uncommitted or unrelated one (last_seen_at) keeps the cache, and a change this process cannot see (another
process's SQL) shows once TTL_S has passed."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import utcnow
from bot.issues import options
from bot.issues.options import Choice, filter_choices
from bot.models import Line, Plant, User

pytestmark = pytest.mark.db
ROLES = ("maintenance", "team_lead")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The cache's monotonic clock, stepped by the test."""
    now = [1000.0]
    monkeypatch.setattr(options, "monotonic", lambda: now[0])
    yield now


async def seed(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions.begin() as session:
        plant = Plant(code="P", name="测试工厂", timezone="Asia/Shanghai")
        session.add(plant)
        await session.flush()
        people = [User(wecom_userid="maint1", name="孙师傅", roles=["maintenance"]),
                  User(wecom_userid="lead1", name="", roles=["team_lead"]),
                  User(wecom_userid="pm1", name="周经理", roles=["pm"]),
                  User(wecom_userid="gone", name="离职", roles=["maintenance"], active=False)]
        line = Line(plant_id=plant.id, code="L2", name="二号线")
        session.add_all([*people, line])
        await session.flush()
        return {u.wecom_userid: u.id for u in people} | {"line": line.id, "plant": plant.id}


async def choices(sessions: async_sessionmaker[AsyncSession]) -> tuple[tuple[Choice, ...], tuple[Choice, ...]]:
    async with sessions() as session:
        found = await filter_choices(session, ROLES)
        return found.owners, found.lines


async def test_committed_orm_changes_show_at_once(session_factory: async_sessionmaker[AsyncSession],
                                                  clock: list[float]) -> None:
    ids = await seed(session_factory)
    owners, lines = await choices(session_factory)
    assert owners == (Choice(ids["maint1"], "孙师傅"), Choice(ids["lead1"], "lead1"))
    assert lines == (Choice(ids["line"], "L2 二号线"),)

    async with session_factory() as session:
        async with session.begin():
            (await session.get(User, ids["maint1"])).name = "孙工"  # type: ignore[union-attr]
            await session.flush()
            assert (await choices(session_factory))[0][0].label == "孙师傅", "not committed yet: kept"
        assert (await choices(session_factory))[0][0].label == "孙工"

    async with session_factory.begin() as session:
        (await session.get(User, ids["pm1"])).roles = ["pm", "maintenance"]  # type: ignore[union-attr]
        session.add(Line(plant_id=ids["plant"], code="L1", name="一号线"))
    owners, lines = await choices(session_factory)
    assert [o.id for o in owners] == [ids["maint1"], ids["lead1"], ids["pm1"]]
    assert [line.label for line in lines] == ["L1 一号线", "L2 二号线"]

    async with session_factory.begin() as session:
        (await session.get(User, ids["lead1"])).active = False  # type: ignore[union-attr]
        await session.delete(await session.get(Line, ids["line"]))
    owners, lines = await choices(session_factory)
    assert ids["lead1"] not in [o.id for o in owners] and [line.label for line in lines] == ["L1 一号线"]


async def test_unrelated_and_rolled_back_changes_keep_the_cache(session_factory: async_sessionmaker[AsyncSession],
                                                               clock: list[float]) -> None:
    ids = await seed(session_factory)
    await choices(session_factory)
    before = options.generation()
    async with session_factory.begin() as session:  # what every message does
        (await session.get(User, ids["maint1"])).last_seen_at = utcnow()  # type: ignore[union-attr]
    assert options.generation() == before
    async with session_factory() as session:
        (await session.get(User, ids["maint1"])).name = "回滚"  # type: ignore[union-attr]
        await session.flush()
        await session.rollback()
    assert options.generation() == before
    assert (await choices(session_factory))[0][0].label == "孙师傅"


async def test_changes_from_elsewhere_show_after_the_ttl(session_factory: async_sessionmaker[AsyncSession],
                                                         clock: list[float]) -> None:
    ids = await seed(session_factory)
    await choices(session_factory)
    async with session_factory.begin() as session:  # as another process or a bulk import would: no ORM events
        await session.execute(update(User).where(User.id == ids["maint1"]).values(name="孙工"),
                              execution_options={"synchronize_session": False})
        assert await session.scalar(select(User.name).where(User.id == ids["maint1"])) == "孙工"
    clock[0] += options.TTL_S - 1
    assert (await choices(session_factory))[0][0].label == "孙师傅", "within the TTL: the cached list"
    clock[0] += 1
    assert (await choices(session_factory))[0][0].label == "孙工"
    async with session_factory.begin() as session:
        await session.execute(update(User).where(User.id == ids["maint1"]).values(name="孙二"),
                              execution_options={"synchronize_session": False})
    clock[0] -= 3600  # a clock that went back never keeps a list for longer
    assert (await choices(session_factory))[0][0].label == "孙二"
