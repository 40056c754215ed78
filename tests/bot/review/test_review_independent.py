"""More of the seeded two-month history, worked out by hand from the rows in support.py (not by the code under
test): line L2 and the plant, every baseline comparison's sign and size, the targets, the plant's Paretos, issue
and patrol counts, training by role, the 12-month trend, and the micro-stop threshold applied everywhere alike."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.kpi.scopes import Scope
from bot.review.service import build_review
from tests.bot.review.support import NOVEMBER, NOW, review_overrides, seed_history
from tests.conftest import make_settings

pytestmark = pytest.mark.db
L1, L2 = Scope("line", "L1", "一号线"), Scope("line", "L2", "二号线")


@pytest.fixture
async def built(session_factory, db_url: str, tmp_path: Path):
    await seed_history(session_factory, tmp_path)

    async def review(scope: Scope, **kpi: float):
        overrides = review_overrides(tmp_path) | ({"kpi": kpi} if kpi else {})
        settings = make_settings(db_url, **overrides)
        async with session_factory() as session:
            return await build_review(session, settings, scope, NOVEMBER, NOW)
    return review


def values(review, kpi: str) -> dict:
    return next(k for k in review.kpis if k.kpi == kpi).values


def line_of(review, kpi: str):
    return next(k for k in review.kpis if k.kpi == kpi)


async def test_l1_every_baseline_comparison_has_the_right_sign_and_size(built) -> None:
    line = await built(L1)
    # November: 8 h run, 2 h down (3 events); 20 000 good + 400 scrap on M1 (1.0 s). October (= the baseline):
    # 10 h run, 2 h down (1 event), 30 000 good + 600 scrap, one order due and on time.
    expected = {  # kpi: (this, baseline, verdict)
        "availability": (28800 / 36000, 36000 / 43200, "worse"),
        "performance": (20400 / 28800, 30600 / 36000, "worse"),
        "quality": (20000 / 20400, 30000 / 30600, "same"),
        "mtbf_s": (28800 / 3, 36000, "worse"),
        "mttr_s": (7200 / 3, 7200, "better"),  # lower is better
        "otd": (0.5, 1.0, "worse"),
        "output_vs_plan": (20000 / 26000, 30000 / 30000, "worse"),
    }
    for kpi, (this, base, verdict) in expected.items():
        got = line_of(line, kpi)
        assert got.values["this"] == pytest.approx(this), kpi
        assert got.values["baseline"] == pytest.approx(base), kpi
        change = got.changes["baseline"]
        assert change.verdict == verdict, kpi
        assert change.delta == pytest.approx(this - base, abs=1e-12), kpi
    # targets (config: OEE 65 %, MTTR 50 min; no OTD target here): 55.6 % misses, 40 min meets, none: no verdict
    assert line_of(line, "oee").meets_target is False and line_of(line, "mttr_s").meets_target is True
    assert line_of(line, "otd").target is None and line_of(line, "otd").meets_target is None
    # no alerts were seeded: response and repair times have no data rather than zero
    assert values(line, "mttr_response_s") == {"this": None, "last": None, "last_year": None, "baseline": None}


async def test_l2_and_a_month_without_orders_due(built) -> None:
    line = await built(L2)
    # M3 (4 s): 10 h run, one 20-minute jam; 8 000 good + 100 scrap; its only order is due in December
    assert values(line, "availability")["this"] == pytest.approx(36000 / 37200)
    assert values(line, "performance")["this"] == pytest.approx(4 * 8100 / 36000)
    assert values(line, "oee")["this"] == pytest.approx(36000 / 37200 * 4 * 8100 / 36000 * 8000 / 8100)
    assert values(line, "mttr_s")["this"] == pytest.approx(1200)
    assert values(line, "otd")["this"] is None and values(line, "output_vs_plan")["this"] is None
    assert values(line, "oee")["baseline"] is None and line_of(line, "oee").changes["baseline"].verdict is None
    assert [(b.code, b.value) for b in line.downtime] == [("JAM", pytest.approx(20))]
    assert [(b.code, b.value) for b in line.scrap] == [("MAT", 100)]
    issues = line.issues
    assert (issues.opened, issues.closed, issues.open_at_end, issues.overdue_at_end) == (1, 0, 1, 0)  # no due date
    assert (line.patrols.total, line.patrols.skipped, line.patrols.on_time_rate) == (1, 1, None)
    assert line.adoption.by_source == {"import": 1} and line.adoption.correction_rate == 0


async def test_plant_paretos_counts_and_training(built) -> None:
    plant = await built(Scope("plant"))
    assert [(b.code, b.value, b.share) for b in plant.downtime] == [
        ("JAM", pytest.approx(110), pytest.approx(110 / 140)), ("TOOL", pytest.approx(30), pytest.approx(30 / 140))]
    assert [(b.code, b.value, b.share) for b in plant.scrap] == [
        ("DIM", 300, pytest.approx(0.6)), ("LOOK", 100, pytest.approx(0.2)), ("MAT", 100, pytest.approx(0.2))]
    issues = plant.issues  # #1, #3, #4, #5 opened; #1 closed; #2, #3, #4, #5 open at the end; #2, #4 overdue
    assert (issues.opened, issues.closed, issues.open_at_end, issues.overdue_at_end) == (4, 1, 4, 2)
    p = plant.patrols  # four November rounds: on time, late, missed, skipped; 6 answers, 1 NG
    assert (p.total, p.on_time, p.missed, p.skipped, p.answers, p.ng) == (4, 1, 1, 1, 6, 1)
    assert [(t.key, t.members, t.done, t.percent) for t in plant.training] == [("operator", 2, 1, 50)]
    assert plant.adoption.reports == 3 and plant.adoption.active_by_role == {"operator": 2, "team_lead": 1}
    assert values(plant, "mttr_s")["this"] == pytest.approx((7200 + 1200) / 4)


async def test_trend_matches_the_month_columns(built) -> None:
    line = await built(L1)
    trend = {p.label: p for p in line.trend}
    assert list(trend) == ["2025-12", *(f"2026-{m:02d}" for m in range(1, 12))]
    assert trend["2026-11"].value("oee") == pytest.approx(20000 / 36000)
    assert trend["2026-10"].value("oee") == pytest.approx(30000 / 43200)
    assert trend["2026-11"].value("otd") == pytest.approx(0.5)
    assert all(trend[label].record is None for label in ("2025-12", "2026-03", "2026-09"))  # no data: a gap
    # January has no machine data, only the master data's two orders due (one on time): still a figure
    plant = {p.label: p for p in (await built(Scope("plant"))).trend}
    assert plant["2026-01"].value("otd") == pytest.approx(0.5) and plant["2026-01"].value("oee") is None


async def test_micro_stop_threshold_leaves_short_stops_out_of_kpis_and_pareto_alike(built) -> None:
    plant = await built(Scope("plant"), micro_stop_threshold_s=1500)
    # the 20-minute jam on M3 is now a speed loss: out of the Pareto and of the down events
    assert [(b.code, b.value) for b in plant.downtime] == [("JAM", pytest.approx(90)), ("TOOL", pytest.approx(30))]
    assert values(plant, "mttr_s")["this"] == pytest.approx(7200 / 3)
    assert plant.micro_stop_s == 1500
