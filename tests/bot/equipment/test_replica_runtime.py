"""Two equipment runtimes (two replicas: own engines, one database) on two real OPC UA simulators, on a clock the
test moves: they never both collect an endpoint, spread the endpoints, and when one dies the other takes its
endpoint after the TTL, records the silence as `unknown` and loses no part; a replica that lost its lease while
paused writes nothing. One runtime on SQLite runs the same lease path alone."""
from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import metrics
from bot.equipment.leases import LeaseSettings
from bot.equipment.runtime import EquipmentRuntime
from bot.equipment.settings import EquipmentSettings
from bot.equipment.status import endpoint_owners
from integrations.opcua.simulator import PlantSimulator
from tests.bot.equipment.support import ENDPOINT_CODES, T0, FakeClock, deltas, intervals, parse, seed_machines
from tests.conftest import eventually

pytestmark = [pytest.mark.db, pytest.mark.slow]
LEASES = LeaseSettings(ttl_s=6, renew_s=2)


def two_endpoint_settings(sims: dict[str, PlantSimulator]) -> EquipmentSettings:
    machines = [{"code": code, "endpoint": name,
                 "tags": {k: sims[name].node_ids(code)[k] for k in ("state", "good", "scrap", "alarm")}}
                for name, codes in ENDPOINT_CODES.items() for code in codes]
    return parse({"endpoints": [{"name": n, "url": s.endpoint, "interval_s": 0.1} for n, s in sims.items()],
                  "machines": machines})


def crash(runtime: EquipmentRuntime) -> None:
    """What SIGKILL leaves behind: tasks gone, leases and heartbeat not released, pending counts not written."""
    assert runtime._loop is not None
    runtime._loop.cancel()
    for task, _ in runtime._tasks.values():
        task.cancel()


async def collected(sessions: async_sessionmaker[AsyncSession], code: str) -> bool:
    return bool(await intervals(sessions, code))


def assert_contiguous(rows: list[tuple[str, Any, Any]]) -> None:
    """No interval written twice, none overlapping: each ends where the next starts, only the last is open."""
    assert all(end is not None for _, _, end in rows[:-1]) and rows[-1][2] is None, rows
    assert all(rows[i][2] == rows[i + 1][1] for i in range(len(rows) - 1)), rows
    assert all(rows[i][0] != rows[i + 1][0] for i in range(len(rows) - 1)), rows


async def test_same_instant_start_spread_and_takeover_after_the_ttl(
        sims: dict[str, PlantSimulator], session_factory: async_sessionmaker[AsyncSession],
        peer: async_sessionmaker[AsyncSession], fake_clock: FakeClock) -> None:
    await seed_machines(session_factory)
    settings = two_endpoint_settings(sims)
    first = EquipmentRuntime(session_factory, settings, None, fake_clock, leases=LEASES, replica="r1")
    second = EquipmentRuntime(peer, settings, None, fake_clock, leases=LEASES, replica="r2")
    try:
        await asyncio.gather(first.start(), second.start())
        assert not set(first.owned) & set(second.owned)
        for _ in range(3):
            await asyncio.gather(first.lease_tick(), second.lease_tick())
            assert not set(first.owned) & set(second.owned)
        assert sorted(first.owned + second.owned) == ["a", "b"] and len(first.owned) == 1
        for code in ("L1-M1", "L2-M1"):
            await eventually(lambda code=code: collected(session_factory, code), timeout=10)
        await sims["a"].tick(20)
        await sims["b"].tick(20)
        for _ in range(5):  # 20 s of live replicas, renewing as their loops do (a jump past the TTL would let
            fake_clock.advance(4)  # either take the other's expired lease first, and then one holds both)
            await asyncio.gather(first.lease_tick(), second.lease_tick())
        victim, survivor = (first, second) if "a" in first.owned else (second, first)
        died_at = fake_clock()
        crash(victim)
        await sims["a"].tick(30)  # parts made while nobody collects "a"
        fake_clock.advance(LEASES.ttl_s - 0.5)
        await survivor.lease_tick()
        assert survivor.owned == ["b"]  # the dead owner's lease is still valid: not taken yet
        fake_clock.advance(1.0)
        await survivor.lease_tick()
        assert survivor.owned == ["a", "b"]
        await eventually(lambda: intervals_are(session_factory, "L1-M1", ["running", "unknown", "running"]),
                         timeout=10)
        await sims["a"].tick(10)
        fake_clock.advance(5)
        await asyncio.sleep(0.3)  # a few real cycles at the new time
    finally:
        for runtime in (first, second):
            with contextlib.suppress(Exception):
                await runtime.stop()
    rows = await intervals(session_factory, "L1-M1")
    assert_contiguous(rows)
    assert rows[1][1] == died_at  # the gap starts at the dead owner's last renewal, here its last round
    assert rows[2][1] - rows[1][1] >= timedelta(seconds=LEASES.ttl_s)
    for code, name in (("L1-M1", "a"), ("L1-M2", "a"), ("L2-M1", "b")):
        made = sims[name].model(code).good
        assert sum(d.good for d in await deltas(session_factory, code)) == made, code  # none lost, none twice


async def intervals_are(sessions: async_sessionmaker[AsyncSession], code: str, states: list[str]) -> bool:
    return [s for s, _, _ in await intervals(sessions, code)] == states


async def test_a_paused_owner_that_lost_its_lease_writes_nothing(
        sims: dict[str, PlantSimulator], session_factory: async_sessionmaker[AsyncSession],
        peer: async_sessionmaker[AsyncSession], fake_clock: FakeClock) -> None:
    await seed_machines(session_factory)
    settings = two_endpoint_settings(sims)
    paused = EquipmentRuntime(session_factory, settings, None, fake_clock, leases=LEASES, replica="paused")
    other = EquipmentRuntime(peer, settings, None, fake_clock, leases=LEASES, replica="other")
    try:
        await paused.start()
        assert paused.owned == ["a", "b"]
        await eventually(lambda: collected(session_factory, "L1-M1"), timeout=10)
        assert paused._loop is not None
        paused._loop.cancel()  # it stops renewing (a long pause) but its collectors still read and want to write
        fake_clock.advance(LEASES.ttl_s + 1)
        await other.start()
        assert other.owned == ["a", "b"]
        await sims["a"].fail("L1-M1", 105)  # a change both would record
        await eventually(lambda: paused.owned == [], timeout=10)  # the fence refused it; it stopped collecting
        await eventually(lambda: last_state_is(session_factory, "L1-M1", "down"), timeout=10)
    finally:
        await other.stop()
        await paused.stop()
    rows = await intervals(session_factory, "L1-M1")
    assert_contiguous(rows)
    # the paused owner saw "running" at T0: from its last sign of life nothing is known until the new owner reads.
    # Its collectors may still have written (the fence passes while it owns the row) up to the takeover: then the
    # state is known until then and there is no gap to record.
    assert [s for s, _, _ in rows] in (["unknown", "down"], ["unknown", "running", "down"], ["running", "down"])
    assert rows[0][1] == T0 and rows[1][1] >= T0 + timedelta(seconds=LEASES.ttl_s)


async def last_state_is(sessions: async_sessionmaker[AsyncSession], code: str, state: str) -> bool:
    rows = await intervals(sessions, code)
    return bool(rows) and rows[-1][0] == state


async def test_one_runtime_alone_owns_everything_on_any_database(
        sims: dict[str, PlantSimulator], session_factory: async_sessionmaker[AsyncSession],
        fake_clock: FakeClock) -> None:
    await seed_machines(session_factory)
    alone = EquipmentRuntime(session_factory, two_endpoint_settings(sims), None, fake_clock, leases=LEASES)
    assert alone.leases is not None
    await alone.start()
    try:
        assert alone.owned == ["a", "b"] and alone.running
        await eventually(lambda: collected(session_factory, "L2-M1"), timeout=10)
        await sims["b"].tick(10)
        fake_clock.advance(10)
        await alone.lease_tick()
        assert alone.owned == ["a", "b"]
        async with session_factory() as session:
            owners = await endpoint_owners(session, ["a", "b", "never"], fake_clock())
        assert [(o.endpoint, o.owner, o.valid) for o in owners] == [
            ("a", alone.leases.replica, True), ("b", alone.leases.replica, True), ("never", None, False)]
        await asyncio.sleep(0.3)
    finally:
        await alone.stop()
    assert not alone.running
    assert sum(d.good for d in await deltas(session_factory, "L2-M1")) == sims["b"].model("L2-M1").good
    owned = metrics.REGISTRY.get_sample_value("opsbot_collector_lease_owned",
                                              {"endpoint": "a", "replica": alone.leases.replica})
    assert owned == 0  # it released everything on its way out
    assert (metrics.REGISTRY.get_sample_value("opsbot_collector_cycles_total", {"endpoint": "b", "ok": "true"})
            or 0) > 0
    assert (metrics.REGISTRY.get_sample_value("opsbot_collector_cycle_seconds_count", {"endpoint": "b"}) or 0) > 0
