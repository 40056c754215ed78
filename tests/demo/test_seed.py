"""The demo plant: seeded once into an empty database, never twice, never over existing data."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.db import utcnow
from bot.models import Machine, Role, User, WorkOrder
from opsbot.demo.seed import seed_if_empty

pytestmark = pytest.mark.db
TZ = ZoneInfo("Asia/Shanghai")


async def test_seeds_the_demo_plant_into_an_empty_database(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    now = utcnow()
    result = await seed_if_empty(session_factory, now, TZ)
    assert result.seeded
    assert result.counts == {"plants": 1, "lines": 2, "machines": 6, "materials": 6, "work_orders": 10,
                             "operations": 25, "users": 20}
    async with session_factory() as session:
        users = (await session.scalars(select(User))).all()
        orders = (await session.scalars(select(WorkOrder).options(selectinload(WorkOrder.operations)))).all()
        machines = (await session.scalars(select(Machine))).all()
    assert {role for user in users for role in user.roles} == {role.value for role in Role}
    assert sorted(user.wecom_userid for user in users if user.is_seed) == ["zhangwei", "zhaolei"]
    assert all(user.line_id for user in users if {"operator", "team_lead"} & set(user.roles))
    assert {user.name for user in users if user.wecom_userid == "zhangwei"} == {"张伟"}
    assert sorted(m.code for m in machines) == ["L1-M1", "L1-M2", "L1-M3", "L2-M1", "L2-M2", "L2-M3"]
    assert all(m.ideal_cycle_time_s > 0 for m in machines)
    assert all(order.status == "released" and 2 <= len(order.operations) <= 3 for order in orders)
    due = sorted(order.due_at for order in orders if order.due_at)
    assert len(due) == 10 and now - timedelta(days=1) < due[0] and due[-1] < now + timedelta(days=6)
    assert all(op.machine_id for order in orders for op in order.operations)


async def test_seeding_twice_changes_nothing(session_factory: async_sessionmaker[AsyncSession]) -> None:
    first = await seed_if_empty(session_factory, utcnow(), TZ)
    second = await seed_if_empty(session_factory, utcnow(), TZ)
    assert first.seeded and not second.seeded
    assert second.counts == first.counts


async def test_members_already_known_are_kept(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory.begin() as session:
        session.add(User(wecom_userid="zhangwei", name="", roles=[]))  # a pending member, recorded by a callback
    result = await seed_if_empty(session_factory, utcnow(), TZ)
    assert result.seeded and result.counts["users"] == 20
    async with session_factory() as session:
        kept = await session.scalar(select(User).where(User.wecom_userid == "zhangwei"))
    assert kept is not None and kept.roles == []
