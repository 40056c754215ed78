from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from integrations.opcua.simulator import PlantSimulator
from tests.bot.equipment.support import FakeClock, make_sim


@pytest.fixture
async def sim() -> AsyncIterator[PlantSimulator]:
    simulator = make_sim()
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()
