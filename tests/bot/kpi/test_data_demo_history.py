"""The demo's month of history: loads, does not overlap, gives plausible KPIs, and is written only once."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.kpi.service import kpis_from_db
from opsbot.demo.history import seed_history
from opsbot.demo.seed import seed_if_empty
from tests.conftest import make_settings

pytestmark = pytest.mark.db
NOW = datetime(2026, 3, 10, 2, 17, 33, tzinfo=UTC)


async def test_month_of_history(session_factory) -> None:
    await seed_if_empty(session_factory, NOW, ZoneInfo("Asia/Shanghai"))
    async with session_factory.begin() as session:
        counts = await seed_history(session, NOW)
    assert counts["machine_states"] > 1000 and counts["work_reports"] > 1000 and counts["work_orders"] >= 30
    async with session_factory.begin() as session:
        assert await seed_history(session, NOW) == {}
    settings = make_settings("sqlite+aiosqlite://")
    async with session_factory() as session:  # the engine refuses overlapping intervals, so this checks them too
        plant = await kpis_from_db(session, settings, start=NOW - timedelta(days=28), end=NOW, by="plant",
                                   every="week", now=NOW)
        lines = await kpis_from_db(session, settings, start=NOW - timedelta(days=7), end=NOW, by="line", now=NOW)
    assert plant["oee"].between(0.35, 0.95).all(), plant["oee"].tolist()
    assert (plant["planned_stop_s"] > 0).all() and (plant["down_events"] > 0).all()
    assert plant["otd"].between(0.5, 1.0).all()
    assert not plant["performance_flag"].any()
    assert len(lines) >= 2 and lines["good"].gt(0).all()
