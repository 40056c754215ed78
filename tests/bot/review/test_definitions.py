"""A KPI whose definition changed is footnoted on every comparison that spans the change, and on the month itself
when the change fell inside it; changes outside the compared periods leave no footnote."""
from __future__ import annotations

from datetime import date

from bot.review.definitions import definition_notes
from bot.review.service import windows_for
from bot.review.settings import DefinitionChange, ReviewSettings
from tests.conftest import make_settings

NOVEMBER = date(2026, 11, 1)


def windows():
    settings = make_settings("sqlite+aiosqlite://")
    config = ReviewSettings(baseline_start="2026-03-01", baseline_end="2026-03-31")
    return windows_for(settings, config, NOVEMBER)


def test_a_change_marks_the_columns_whose_comparison_spans_it() -> None:
    notes = definition_notes([DefinitionChange("2026-11-01", "oee", "短停阈值由 0 秒改为 120 秒"),
                              DefinitionChange("2026-11-15", "mttr_s", "维修计时改从报修开始")], windows())
    # from 1 November: this month is whole under the new rule; October, last year and March are not
    assert [(n.kpi, n.columns) for n in notes["oee"]] == [("oee", ("last", "last_year", "baseline"))]
    assert notes["oee"][0].column_words == "上月、去年同月、基线"
    # inside the month: the month itself mixes both rules
    assert notes["mttr_s"][0].columns == ("this", "last", "last_year", "baseline")
    assert set(notes) == {"oee", "mttr_s"}


def test_changes_outside_the_compared_span_leave_no_footnote() -> None:
    notes = definition_notes([DefinitionChange("2026-12-02", "oee", "以后"),
                              DefinitionChange("2026-04-10", "*", "四月起全部按新口径")], windows())
    # April: after the March baseline began and before November ended, so only the baseline and last year
    # comparisons span it; every KPI gets it ("*"); December is after everything compared
    assert {n.columns for kpi_notes in notes.values() for n in kpi_notes} == {("last_year", "baseline")}
    assert len(notes) == 11 and all(len(v) == 1 for v in notes.values())


def test_bad_changes_are_refused_at_start() -> None:
    config = ReviewSettings(definition_changes=[DefinitionChange("15.11.2026", "speed", "")])
    problems = " ".join(config.validate())
    assert "definition_changes[0].date" in problems and "definition_changes[0].kpi" in problems
    assert "definition_changes[0].text" in problems
