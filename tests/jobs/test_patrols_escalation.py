"""Escalation on a simulated clock: reminder before due, at due, team lead, manager - each once, also after a
restart - then 漏检 at the window's end with what was done; a machine in a planned stop all along is skipped."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import Services
from bot.models import Machine, OutboxMessage
from bot.models.equipment import MachineState
from bot.models.patrols import PatrolRound
from bot.templates import Templates
from jobs import patrols_dispatch, patrols_escalation
from opsbot.app import build_services
from tests.bot.patrols.support import PATROLS, SHIFT_D, SLOT_5S, seed_plant
from tests.clock import StoppedClock
from tests.conftest import make_settings

pytestmark = pytest.mark.db


def services_for(db_url: str, session_factory: async_sessionmaker[AsyncSession], clock: StoppedClock) -> Services:
    settings = make_settings(db_url, patrols=dict(PATROLS))
    return Services(settings=settings, sessions=session_factory, templates=Templates(settings.tz), clock=clock)


async def sent(session_factory: async_sessionmaker[AsyncSession], round_id: int) -> list[tuple[str, list[str]]]:
    async with session_factory() as session:
        rows = await session.scalars(select(OutboxMessage).where(
            OutboxMessage.idempotency_key.like(f"patrol:{round_id}:%")).order_by(OutboxMessage.id))
        return [(r.idempotency_key.rsplit(":", 1)[1], r.target["touser"]) for r in rows]


async def five_s(session_factory: async_sessionmaker[AsyncSession]) -> PatrolRound:
    async with session_factory() as session:
        return await session.scalar(select(PatrolRound).where(PatrolRound.checklist_code == "5S-L1"))


async def test_the_whole_ladder_once_and_not_again_after_a_restart(
        session_factory: async_sessionmaker[AsyncSession], db_url: str) -> None:
    clock = StoppedClock(SLOT_5S)
    services = services_for(db_url, session_factory, clock)
    async with session_factory.begin() as session:
        await seed_plant(session)
    await patrols_dispatch.run(services, clock())
    row = await five_s(session_factory)
    due = row.due_at
    steps = []
    for minute in range(0, 4 * 60 + 2):  # every minute of the window, as the job runs
        clock.now = SLOT_5S + timedelta(minutes=minute)
        await patrols_escalation.run(services, clock())
        if clock.now == due + timedelta(minutes=45):  # a restart: new engine, nothing kept in memory
            restarted = build_services(services.settings, clock)
            await patrols_escalation.run(restarted, clock())
            assert restarted.engine is not None
            await restarted.engine.dispose()
        steps = await sent(session_factory, row.id)
        if minute in (44, 45):
            assert len(steps) == minute - 44, "the reminder comes 15 minutes before due, not sooner"
    assert steps == [("remind", ["lead1"]), ("due", ["lead1"]), ("lead", ["lead1"]), ("manager", ["mgr1"])]
    async with session_factory() as session:
        keys = [k for (k,) in await session.execute(select(OutboxMessage.idempotency_key).where(
            OutboxMessage.idempotency_key.like(f"patrol:{row.id}:%")))]
    assert len(keys) == 4
    closed = await five_s(session_factory)
    assert closed.status == "missed" and closed.finished_at == SLOT_5S + timedelta(hours=4)


async def test_a_machine_stopped_for_the_whole_window_is_skipped_not_missed(
        session_factory: async_sessionmaker[AsyncSession], db_url: str) -> None:
    clock = StoppedClock(SHIFT_D)
    services = services_for(db_url, session_factory, clock)
    async with session_factory.begin() as session:
        await seed_plant(session)
        m1 = await session.scalar(select(Machine.id).where(Machine.code == "L1-M1"))
        session.add(MachineState(machine_id=m1, state="planned_stop", start_at=SHIFT_D - timedelta(hours=2)))
    await patrols_dispatch.run(services, clock())
    for hours in (1, 2):
        clock.now = SHIFT_D + timedelta(hours=hours)
        await patrols_escalation.run(services, clock())
    clock.now = SHIFT_D + timedelta(hours=12, minutes=1)
    await patrols_escalation.run(services, clock())
    async with session_factory() as session:
        rows = {r.scope_key: r for r in await session.scalars(select(PatrolRound).where(
            PatrolRound.checklist_code == "DJ-CNC"))}
    stopped, running = rows["machine:L1-M1"], rows["machine:L1-M2"]
    assert (stopped.status, stopped.reason) == ("skipped", "计划停机")
    assert running.status == "missed"
    assert await sent(session_factory, stopped.id) == []
    assert [s for s, _ in await sent(session_factory, running.id)] == ["remind", "due", "lead", "manager"]
