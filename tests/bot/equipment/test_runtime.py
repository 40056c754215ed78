"""The runtime in real time: collectors under their own reconnect loop survive a server outage, which is
recorded as unknown, and collecting resumes within seconds of the server's return."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import utcnow
from bot.equipment.runtime import EquipmentRuntime
from integrations.opcua.simulator import PlantSimulator
from tests.bot.equipment.support import equipment_config, intervals, parse, seed_machines
from tests.conftest import eventually

pytestmark = [pytest.mark.db, pytest.mark.slow]


async def states(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    return [state for state, _, _ in await intervals(sessions, "L1-M1")]


async def test_outage_is_unknown_and_recovery_is_quick(
        sim: PlantSimulator, session_factory: async_sessionmaker[AsyncSession]) -> None:
    await seed_machines(session_factory)
    runtime = EquipmentRuntime(session_factory, parse(equipment_config(sim)), None, utcnow)
    await runtime.start()
    try:
        await eventually(lambda: states(session_factory))
        await sim.stop()
        await eventually(async_equals(session_factory, ["running", "unknown"]), timeout=10)
        await asyncio.sleep(1.0)  # the outage has to last a little: the reconnect loop backs off meanwhile
        await sim.start()
        returned = asyncio.get_running_loop().time()
        await eventually(async_equals(session_factory, ["running", "unknown", "running"]), timeout=10)
        assert asyncio.get_running_loop().time() - returned < 5.0
        await runtime.start()  # idempotent while running
        assert len(runtime.collectors) == 1
    finally:
        await runtime.stop()
    assert not runtime.running


def async_equals(sessions: async_sessionmaker[AsyncSession], expected: list[str]):  # type: ignore[no-untyped-def]
    async def check() -> bool:
        return await states(sessions) == expected
    return check
