"""The review of a seeded two-month history matches figures worked out by hand from the seeded rows."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.kpi.scopes import Scope
from bot.review.service import build_review, parse_month
from tests.bot.review.support import NOVEMBER, NOW, review_overrides, seed_history
from tests.conftest import make_settings

pytestmark = pytest.mark.db


@pytest.fixture
async def reviews(session_factory, db_url: str, tmp_path: Path):
    await seed_history(session_factory, tmp_path)
    settings = make_settings(db_url, **review_overrides(tmp_path))
    async with session_factory() as session:
        line = await build_review(session, settings, Scope("line", "L1", "一号线"), NOVEMBER, NOW)
        plant = await build_review(session, settings, Scope("plant"), NOVEMBER, NOW)
    return line, plant


def kpi(review, name: str):
    return next(k for k in review.kpis if k.kpi == name)


async def test_line_kpis_match_hand_computed_month_and_comparisons(reviews) -> None:
    line, _ = reviews
    oee, mttr, otd = kpi(line, "oee"), kpi(line, "mttr_s"), kpi(line, "otd")
    # November on L1: 8 h run, 2 h down in 3 events (one clipped at the month end), 20 000 good + 400 scrap
    assert kpi(line, "availability").values["this"] == pytest.approx(28800 / 36000)
    assert oee.values["this"] == pytest.approx(20000 / 36000)
    assert oee.values["last"] == pytest.approx(30000 / 43200)
    assert mttr.values["this"] == pytest.approx(7200 / 3) and mttr.values["last"] == pytest.approx(7200)
    assert kpi(line, "mtbf_s").values["this"] == pytest.approx(28800 / 3)
    assert otd.values["this"] == pytest.approx(0.5) and otd.values["last"] == pytest.approx(1.0)
    assert kpi(line, "output_vs_plan").values["this"] == pytest.approx(20000 / 26000)
    # OEE fell: a negative change, the wrong way; MTTR fell: the right way (lower is better)
    assert oee.changes["last"].delta == pytest.approx(20000 / 36000 - 30000 / 43200)
    assert oee.changes["last"].verdict == "worse" and oee.changes["last"].right_way is False
    assert oee.changes["baseline"].verdict == "worse"
    assert mttr.changes["baseline"].delta == pytest.approx(2400 - 7200) and mttr.changes["baseline"].right_way
    assert oee.meets_target is False and mttr.meets_target is True  # 55.6 % < 65 %; 40 min <= 50 min
    # no data in November 2025: no value and no verdict rather than a zero
    assert oee.values["last_year"] is None and oee.changes["last_year"].verdict is None


async def test_plant_kpis_sum_before_the_ratios(reviews) -> None:
    _, plant = reviews
    assert kpi(plant, "oee").values["this"] == pytest.approx(52800 / 73200 * 28000 / 28500)
    assert kpi(plant, "otd").values["this"] == pytest.approx(0.5)  # WO-N3 is due in December


async def test_paretos_clip_to_the_month_and_leave_out_undone_reports(reviews) -> None:
    line, plant = reviews
    assert [(b.name, b.value) for b in line.downtime] == [("卡料", pytest.approx(90)), ("换刀", pytest.approx(30))]
    assert plant.downtime[0].value == pytest.approx(110) and plant.downtime[0].share == pytest.approx(110 / 140)
    assert [(b.code, b.value) for b in line.scrap] == [("DIM", 300), ("LOOK", 100)]
    assert [b.code for b in plant.scrap] == ["DIM", "LOOK", "MAT"] and plant.scrap[-1].cumulative == pytest.approx(1)
    assert [m["machine"] for m in line.worst_machines] == ["M1"]  # M2 has no time: not ranked as zero


async def test_issues_patrols_training_and_adoption(reviews) -> None:
    line, plant = reviews
    assert (line.issues.opened, line.issues.closed, line.issues.open_at_end, line.issues.overdue_at_end) == (
        3, 1, 3, 2)
    assert line.issues.oldest[0].issue.number == "Q-2026-0002"
    assert (plant.issues.opened, plant.issues.open_at_end) == (4, 4)
    assert (line.patrols.total, line.patrols.on_time, line.patrols.missed) == (3, 1, 1)
    assert line.patrols.ng_rate == pytest.approx(1 / 6)
    assert plant.patrols.on_time_rate == pytest.approx(1 / 3)  # the skipped round is not counted
    assert [(t.key, t.members, t.done) for t in plant.training] == [("operator", 2, 1)]
    adoption = line.adoption
    assert adoption.reports == 2 and adoption.share("h5") == pytest.approx(0.5)
    assert adoption.active_by_role == {"operator": 2, "team_lead": 1}
    assert adoption.correction_rate == pytest.approx(0.5)
    assert plant.adoption.by_source == {"chat": 1, "h5": 1, "import": 1}


def test_parse_month_takes_year_dash_month_only() -> None:
    assert parse_month("2026-11") == NOVEMBER and parse_month("2026-1").month == 1
    assert parse_month("2026-13") is None and parse_month("11月") is None
