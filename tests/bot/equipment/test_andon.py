"""Andon through the real path (simulator → collector → store → alert rows and outbox cards), time by hand."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.equipment import andon
from bot.equipment.settings import EquipmentSettings
from bot.models import OutboxMessage, User
from integrations.opcua.simulator import PlantSimulator
from tests.bot.equipment.support import Driver, FakeClock, alerts, equipment_config, notifier, parse, seed_machines

pytestmark = [pytest.mark.db, pytest.mark.slow]


async def seed_people(sessions: async_sessionmaker[AsyncSession], lines: dict[str, int]) -> None:
    async with sessions.begin() as session:
        session.add_all([
            User(wecom_userid="wang", name="王师傅", roles=["maintenance"], line_id=lines["L1"]),
            User(wecom_userid="sun", name="孙师傅", roles=["maintenance"], line_id=lines["L2"]),
            User(wecom_userid="li", name="李班长", roles=["team_lead"], line_id=lines["L1"]),
            User(wecom_userid="zhao", name="赵经理", roles=["manager"])])


async def cards(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with sessions() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def sweep(sessions: async_sessionmaker[AsyncSession], settings: EquipmentSettings,
                now: datetime) -> andon.SweepResult:
    async with sessions.begin() as session:
        return await andon.sweep(session, settings, notifier(settings), now)


async def start(sim: PlantSimulator, sessions: async_sessionmaker[AsyncSession], clock: FakeClock,
                **andon_settings: object) -> tuple[Driver, EquipmentSettings]:
    await seed_people(sessions, await seed_machines(sessions))
    settings = parse(equipment_config(sim, **andon_settings))
    return await Driver.start(sim, clock, sessions, settings, notifier(settings)), settings


async def test_one_alert_per_down_period_and_flapping_is_debounced(
        sim: PlantSimulator, session_factory: async_sessionmaker[AsyncSession], fake_clock: FakeClock) -> None:
    drive, settings = await start(sim, session_factory, fake_clock, min_gap_s=900)
    await drive.step()
    await sim.fail("L1-M1", alarm=105)
    await drive.step(0)
    await drive.step(59)
    assert await alerts(session_factory) == []
    await drive.step(2)
    await drive.step(30)
    [alert] = await alerts(session_factory)
    [card] = await cards(session_factory)
    assert card.target["touser"] == ["wang"] and card.payload["task_id"] == alert.task_id
    assert card.payload["button_list"][0] == {"text": "接单", "style": 1, "key": f"eq:ack:{alert.id}"}
    assert alert.reason_code == "ELEC" and alert.status == "open"

    for _ in range(3):  # flapping: back up briefly, down again for longer than the threshold
        await sim.repair("L1-M1")
        await drive.step(5)
        await sim.fail("L1-M1", alarm=105)
        await drive.step(5)
        await drive.step(90)
    assert len(await alerts(session_factory)) == 1 and len(await cards(session_factory)) == 1

    await sim.repair("L1-M1")
    await drive.step(5)
    fake_clock.advance(settings.andon.recover_s)
    assert (await sweep(session_factory, settings, fake_clock())).cancelled == 1
    await sim.fail("L1-M1", alarm=105)
    await drive.step(5)
    await drive.step(61)  # a new incident, but within min_gap_s of the last alert: still quiet
    assert len(await alerts(session_factory)) == 1
    fake_clock.advance(settings.andon.min_gap_s)
    assert (await sweep(session_factory, settings, fake_clock())).raised == 1
    first, second = await alerts(session_factory)
    assert first.status == "cancelled" and second.status == "open" and first.task_id != second.task_id
    await drive.close()


async def test_untaken_alert_escalates_to_team_lead_then_manager(
        sim: PlantSimulator, session_factory: async_sessionmaker[AsyncSession], fake_clock: FakeClock) -> None:
    drive, settings = await start(sim, session_factory, fake_clock)
    await sim.fail("L1-M2", alarm=120)
    await drive.step()
    await drive.step(61)
    [alert] = await alerts(session_factory)
    raised = fake_clock()
    fake_clock.advance(9 * 60)
    assert (await sweep(session_factory, settings, fake_clock())).escalated == 0
    fake_clock.advance(60)
    assert (await sweep(session_factory, settings, fake_clock())).escalated == 1
    fake_clock.advance(10 * 60)
    assert (await sweep(session_factory, settings, fake_clock())).escalated == 1
    fake_clock.advance(60 * 60)
    assert (await sweep(session_factory, settings, fake_clock())).escalated == 0
    sent = [(c.target["touser"], c.payload["task_id"]) for c in await cards(session_factory)]
    assert sent == [(["wang"], alert.task_id), (["li"], f"{alert.task_id}-L1"), (["zhao"], f"{alert.task_id}-L2")]
    [alert] = await alerts(session_factory)
    assert alert.escalation_level == 2 and alert.raised_at == raised
    await drive.close()


async def test_a_taken_alert_does_not_escalate(
        sim: PlantSimulator, session_factory: async_sessionmaker[AsyncSession], fake_clock: FakeClock) -> None:
    drive, settings = await start(sim, session_factory, fake_clock, threshold_s=0)
    await sim.fail("L2-M1", alarm=7)
    await drive.step()
    [alert] = await alerts(session_factory)
    async with session_factory.begin() as session:
        sun = await session.scalar(select(User).where(User.wecom_userid == "sun"))
        assert sun is not None
        await andon.acknowledge(session, alert.id, sun, fake_clock.advance(30))
    fake_clock.advance(3600)
    assert (await sweep(session_factory, settings, fake_clock())).escalated == 0
    [card] = await cards(session_factory)
    assert card.target["touser"] == ["sun"]  # L2's maintenance
    [alert] = await alerts(session_factory)
    assert alert.reason_code == "ALM7"  # an unmapped PLC alarm is kept as is
    await drive.close()
