"""The demo's history covers a pre-rollout baseline month and the months since, so the demo's first review shows
real movement against the baseline: better OEE, MTTR, on-time delivery and quality, and scanning replaced paper."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.kpi.scopes import Scope
from bot.review.access import default_month
from bot.review.service import build_review
from opsbot.demo.history import configure_review, seed_history
from opsbot.demo.seed import seed_if_empty
from tests.conftest import make_settings

pytestmark = [pytest.mark.db, pytest.mark.slow]
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 11:00 on 1 December: the review of November is due


async def test_first_review_moves_against_the_baseline(session_factory, db_url: str) -> None:
    await seed_if_empty(session_factory, NOW, ZoneInfo("Asia/Shanghai"))
    async with session_factory.begin() as session:
        counts = await seed_history(session, NOW)
    assert counts["machine_states"] > 10_000 and counts["report_corrections"] > 0
    settings = make_settings(db_url)
    async with session_factory() as session:
        assert await configure_review(session, settings) == (date(2026, 8, 1), date(2026, 8, 31))
        month = default_month(settings, NOW)
        review = await build_review(session, settings, Scope("plant"), month, NOW)
    assert month == date(2026, 11, 1)
    kpis = {k.kpi: k for k in review.kpis}
    for name in ("oee", "availability", "performance", "mttr_s", "otd", "quality", "output_vs_plan"):
        assert kpis[name].changes["baseline"].verdict == "better", name
    assert kpis["oee"].changes["baseline"].delta > 0.1  # a real step, not noise
    assert kpis["mttr_s"].values["this"] < 0.8 * kpis["mttr_s"].values["baseline"]
    assert kpis["oee"].values["last_year"] is None  # no history a year back: no data, not zero
    trend = [p.value("oee") for p in review.trend]
    assert trend[:8] == [None] * 8 and all(v is not None for v in trend[8:])  # August to November
    assert trend[8] < trend[9] < trend[10] < trend[11]
    assert review.adoption.share("h5") > 0.6 and review.adoption.share("import") < 0.05
    assert {bar.code for bar in review.downtime[:3]} <= {"MECH", "TOOL", "MAT", "ELEC"}
    assert review.downtime[0].name == "机械故障"
    # a config that names its own baseline keeps it
    settings.feature("review").baseline_start, settings.feature("review").baseline_end = "2026-09-01", "2026-09-30"
    async with session_factory() as session:
        assert await configure_review(session, settings) == (date(2026, 9, 1), date(2026, 9, 30))
