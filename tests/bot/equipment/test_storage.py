"""ReadCycles from a real asyncua simulator into state intervals and counter deltas (real database)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.equipment.storage import EquipmentStore
from bot.models.equipment import MachineState
from integrations.opcua.simulator import PlantSimulator
from tests.bot.equipment.support import T0, Driver, FakeClock, deltas, equipment_config, intervals, parse, seed_machines

pytestmark = [pytest.mark.db, pytest.mark.slow]  # a real OPC UA server per test (~2 s)
UINT32_MAX = 4_294_967_295


async def test_states_become_intervals_and_counts_become_deltas(
        sim: PlantSimulator, session_factory: async_sessionmaker[AsyncSession], fake_clock: FakeClock) -> None:
    await seed_machines(session_factory)
    drive = await Driver.start(sim, fake_clock, session_factory, parse(equipment_config(sim)))
    await drive.step()
    await drive.step(10)  # 5 parts each, in memory only: no write for a quiet cycle
    assert await deltas(session_factory, "L1-M1") == []
    await sim.fail("L1-M1", alarm=105)
    await drive.step(0)
    await drive.step(20)
    await sim.repair("L1-M1")
    await drive.step(4)
    await drive.close()

    start = T0
    assert await intervals(session_factory, "L1-M1") == [
        ("running", start, start + timedelta(seconds=10)),
        ("down", start + timedelta(seconds=10), start + timedelta(seconds=34)),
        ("running", start + timedelta(seconds=34), None)]
    assert await intervals(session_factory, "L1-M2") == [("running", start, None)]
    rows = await deltas(session_factory, "L1-M1")
    assert [(d.good, d.scrap, d.kind, d.start_at, d.end_at) for d in rows] == [
        (5, 0, "normal", start, start + timedelta(seconds=10)),  # written when the state changed
        (2, 0, "normal", start + timedelta(seconds=30), start + timedelta(seconds=34))]  # between two reads
    async with session_factory() as session:
        down = await session.scalar(select(MachineState).where(MachineState.state == "down"))
        # PLC alarm 105 mapped through alarm_reasons
        assert down is not None and down.reason_code == "ELEC" and down.raw_state == "3"


async def test_counter_reset_and_wrap_are_deltas_of_their_own_kind(
        sim: PlantSimulator, session_factory: async_sessionmaker[AsyncSession], fake_clock: FakeClock) -> None:
    await seed_machines(session_factory)
    await sim.set_counters("L1-M2", UINT32_MAX - 2)
    drive = await Driver.start(sim, fake_clock, session_factory, parse(equipment_config(sim)))
    await drive.step()
    await sim.set_counters("L1-M2", 1)  # max-2 → max-1, max, 0, 1: four parts across the wrap
    await drive.step(6)  # three more parts each
    await sim.reset_counters("L1-M1")
    await drive.step(0)
    await drive.close()

    m1 = [(d.good, d.kind) for d in await deltas(session_factory, "L1-M1")]
    m2 = [(d.good, d.kind) for d in await deltas(session_factory, "L1-M2")]
    assert m1 == [(3, "reset")]  # 3 counted before the reset, 0 after it
    assert m2 == [(4 + 3, "wrap")]
    assert await intervals(session_factory, "L1-M1") == [("running", T0, None)]


async def test_outage_is_unknown_time_and_counts_resume(
        sim: PlantSimulator, session_factory: async_sessionmaker[AsyncSession], fake_clock: FakeClock) -> None:
    await seed_machines(session_factory)
    drive = await Driver.start(sim, fake_clock, session_factory, parse(equipment_config(sim)))
    await drive.step()
    await drive.step(4)
    await sim.stop()
    lost = await drive.step(30, tick=False)
    assert not lost.ok
    await drive.step(30, tick=False)
    await sim.tick(60)  # the machine kept producing while the server was away
    await sim.start()
    await drive.collector.connect()
    await drive.step(0)
    await drive.close()

    assert await intervals(session_factory, "L1-M1") == [
        ("running", T0, T0 + timedelta(seconds=34)),
        ("unknown", T0 + timedelta(seconds=34), T0 + timedelta(seconds=64)),
        ("running", T0 + timedelta(seconds=64), None)]
    rows = await deltas(session_factory, "L1-M1")
    assert sum(d.good for d in rows) == 32  # 2 before the outage, 30 made during it: none lost


async def test_bad_state_tag_is_unknown_for_that_machine_only(
        sim: PlantSimulator, session_factory: async_sessionmaker[AsyncSession], fake_clock: FakeClock) -> None:
    await seed_machines(session_factory)
    drive = await Driver.start(sim, fake_clock, session_factory, parse(equipment_config(sim)))
    await drive.step()
    await sim.set_bad("L1-M1", "state")
    await drive.step(2, tick=False)
    await drive.close()
    assert [s for s, _, _ in await intervals(session_factory, "L1-M1")] == ["running", "unknown"]
    assert [s for s, _, _ in await intervals(session_factory, "L1-M2")] == ["running"]


async def test_a_stopped_collector_leaves_unknown_time_behind(
        sim: PlantSimulator, session_factory: async_sessionmaker[AsyncSession], fake_clock: FakeClock) -> None:
    await seed_machines(session_factory)
    settings = parse(equipment_config(sim))
    first = await Driver.start(sim, fake_clock, session_factory, settings)
    await first.step()
    await first.step(10)
    await first.close()
    await first.runtime.store.flush(fake_clock())  # a clean stop writes pending counts
    fake_clock.advance(3600)  # the bot was stopped for an hour
    second = await Driver.start(sim, fake_clock, session_factory, settings)
    await second.step(4)
    await second.close()
    assert await intervals(session_factory, "L1-M1") == [
        ("running", T0, T0 + timedelta(seconds=10)),
        ("unknown", T0 + timedelta(seconds=10), T0 + timedelta(seconds=3614)),
        ("running", T0 + timedelta(seconds=3614), None)]
    assert sum(d.good for d in await deltas(session_factory, "L1-M1")) == 7


async def test_machines_missing_from_master_data_are_named(
        sim: PlantSimulator, session_factory: async_sessionmaker[AsyncSession]) -> None:
    await seed_machines(session_factory, ["L1-M1"])
    store = EquipmentStore(session_factory, parse(equipment_config(sim)))
    await store.load()
    assert store.missing == ["L1-M2", "L2-M1"] and list(store.tracks) == ["L1-M1"]


async def test_a_machine_added_to_master_data_while_collecting_is_recorded_within_a_minute(
        sim: PlantSimulator, session_factory: async_sessionmaker[AsyncSession], fake_clock: FakeClock) -> None:
    """Regression: the store used to log "not in master data" once and never look again until a restart."""
    from bot.models import Line, Machine

    lines = await seed_machines(session_factory, codes=["L1-M1"])
    drive = await Driver.start(sim, fake_clock, session_factory, parse(equipment_config(sim)))
    await drive.step()
    assert "L1-M2" in drive.runtime.store.missing
    async with session_factory.begin() as session:  # `opsbot import machines` while the collectors run
        line = await session.get(Line, lines["L1"])
        assert line is not None
        session.add(Machine(line_id=line.id, code="L1-M2", name="设备L1-M2"))
    await drive.step(10)
    assert await intervals(session_factory, "L1-M2") == []  # looked up again every 30 s, not every cycle
    await drive.step(25)
    await drive.close()
    assert await intervals(session_factory, "L1-M2") == [("running", T0 + timedelta(seconds=35), None)]
    assert "L1-M2" not in drive.runtime.store.missing
