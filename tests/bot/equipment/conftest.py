from __future__ import annotations

import pytest

from tests.bot.equipment.support import FakeClock


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()
