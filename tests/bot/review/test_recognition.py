"""月度之星 by the published formula, worked out by hand from the seeded history plus a few late, incomplete and
rejected reports: timeliness and correctness beat volume; patrol reliability; fastest (median) issue resolution."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.review.recognition import candidates
from tests.bot.review.support import NOVEMBER, RELAXED, add_extras, review_overrides, seed_history
from tests.conftest import make_settings

pytestmark = pytest.mark.db



@pytest.fixture
async def scored(session_factory, db_url: str, tmp_path: Path):
    await seed_history(session_factory, tmp_path)
    users = await add_extras(session_factory)
    overrides = review_overrides(tmp_path)
    overrides["review"]["recognition"] = RELAXED
    settings = make_settings(db_url, **overrides)
    start, end = settings.calendar.month_bounds(NOVEMBER)
    async with session_factory() as session:
        return users, await candidates(session, settings, start, end)


async def test_entry_score_weighs_timeliness_correctness_and_completeness(scored) -> None:
    users, found = scored
    entry = {c.user_id: c for c in found["entry"]}
    op1, lead1 = entry[users["op1"]], entry[users["lead1"]]
    # op1: 4 reports (2 seeded + 2 extra), 3 on time, 3 complete, nothing corrected or rejected
    assert (op1.count, op1.parts) == (4, {"timely": 0.75, "correct": 1.0, "complete": 0.75})
    assert op1.score == pytest.approx(100 * (0.4 * 0.75 + 0.4 * 1.0 + 0.2 * 0.75))  # 85
    # lead1: 2 reports, one corrected and one rejected: correctness 0, so 40 + 0 + 20
    assert (lead1.count, lead1.parts["correct"], lead1.score) == (2, 0.0, pytest.approx(60))
    assert [c.user_id for c in found["entry"]] == [users["op1"], users["lead1"]]
    assert found["entry"][0].name == "张三"


async def test_patrol_reliability_and_fastest_issue_resolution(scored) -> None:
    users, found = scored
    [patrol] = found["patrol"]  # op1: three November rounds (the skipped one left out), one on time
    assert (patrol.user_id, patrol.count, patrol.score) == (users["op1"], 3, pytest.approx(100 / 3, abs=0.005))
    [issues] = found["issues"]  # boss closed only one: below the minimum of two
    assert (issues.user_id, issues.count, issues.score) == (users["lead1"], 2, pytest.approx((360 + 10) / 2))


async def test_defaults_leave_a_thin_month_without_candidates(session_factory, db_url: str, tmp_path: Path) -> None:
    await seed_history(session_factory, tmp_path)
    settings = make_settings(db_url, **review_overrides(tmp_path))
    start, end = settings.calendar.month_bounds(NOVEMBER)
    async with session_factory() as session:
        found = await candidates(session, settings, start, end)
    assert found == {"entry": [], "patrol": [], "issues": []}  # 20 reports, 4 rounds, 2 issues at the least
