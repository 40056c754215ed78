from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from integrations.opcua.simulator import PlantSimulator
from tests.bot.equipment.support import ENDPOINT_CODES, FakeClock, make_sim


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sims() -> AsyncIterator[dict[str, PlantSimulator]]:
    """One OPC UA simulator per endpoint of ENDPOINT_CODES (the replica tests' two endpoints)."""
    started = {name: make_sim(codes=codes) for name, codes in ENDPOINT_CODES.items()}
    for sim in started.values():
        await sim.start()
    yield started
    for sim in started.values():
        await sim.stop()
