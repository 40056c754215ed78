"""Input validation messages, empty inputs giving NaN, and JSON output."""

import json
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from bot.kpi import FIGURES, KpiInputError, compute_kpis, output_columns, to_json_records

TZ = "Asia/Shanghai"
START, END = pd.Timestamp("2024-03-05 08:00", tz=TZ), pd.Timestamp("2024-03-05 20:00", tz=TZ)
MACHINES = pd.DataFrame({"machine": ["m1", "m2"], "line": ["L1", "L1"], "ideal_cycle_time_s": [1.0, 2.0]})


def plan(**changes: object) -> pd.DataFrame:
    frame = pd.DataFrame({"machine": ["m1", "m1"], "state": ["running", "down"],
                          "start": [START, START + pd.Timedelta(hours=1)],
                          "end": [START + pd.Timedelta(hours=1), START + pd.Timedelta(hours=2)]})
    return frame.assign(**changes)


@pytest.mark.parametrize(("frame", "message"), [
    (plan().drop(columns="end"), "states is missing column"),
    (plan(state=["running", "broken"]), "'broken'"),
    (plan(machine=["m1", "m9"]), "'m9'"),
    (plan(start=[datetime(2024, 3, 5, 8), datetime(2024, 3, 5, 9)]), "timezone-aware"),
    (plan(end=[START - pd.Timedelta(hours=1), END]), "ending before"),
    (plan(end=[START + pd.Timedelta(hours=2), END]), "overlap on machine 'm1'"),
])
def test_bad_states_raise_readable_errors(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(KpiInputError, match=message):
        compute_kpis(frame, None, MACHINES, start=START, end=END)


def test_bad_reports_machines_and_parameters_raise_readable_errors() -> None:
    reports = pd.DataFrame({"reported_at": [START], "machine": ["m1"], "good": [-1], "scrap": [0]})
    with pytest.raises(KpiInputError, match="reports.good must be finite and >= 0"):
        compute_kpis(None, reports, MACHINES, start=START, end=END)
    with pytest.raises(KpiInputError, match="ideal_cycle_time_s must be > 0"):
        compute_kpis(None, None, MACHINES.assign(ideal_cycle_time_s=[1.0, 0.0]), start=START, end=END)
    with pytest.raises(KpiInputError, match="by must be"):
        compute_kpis(None, None, MACHINES, start=START, end=END, by="shop")
    with pytest.raises(KpiInputError, match="start must be a timezone-aware"):
        compute_kpis(None, None, MACHINES, start=datetime(2024, 3, 5), end=END)
    with pytest.raises(KpiInputError, match="micro_stop_threshold_s"):
        compute_kpis(None, None, MACHINES, start=START, end=END, micro_stop_threshold_s=-1)


def test_unsorted_states_are_accepted() -> None:
    shuffled = plan().iloc[::-1]
    assert compute_kpis(shuffled, None, MACHINES, start=START, end=END)["down_events"].tolist() == [1, 0]


def test_an_empty_interval_tied_with_the_next_is_no_overlap() -> None:
    """A database returns rows with the same start in any order; [9:00, 9:00) after [9:00, 10:00) is not an
    overlap (PostgreSQL gave that order for the review benchmark's data)."""
    at = START + pd.Timedelta(hours=1)
    frame = pd.DataFrame({"machine": ["m1", "m1", "m1"], "state": ["running", "down", "idle"],
                          "start": [START, at, at], "end": [at, at + pd.Timedelta(hours=1), at]})
    table = compute_kpis(frame, None, MACHINES, start=START, end=END).set_index("machine")
    assert table.loc["m1", "down_s"] == 3600 and table.loc["m1", "down_events"] == 1


@pytest.mark.parametrize("by", ["machine", "line", "plant"])
@pytest.mark.parametrize("empty", [None, pd.DataFrame()])
def test_empty_inputs_give_nan_not_errors(by: str, empty: pd.DataFrame | None) -> None:
    frame = compute_kpis(empty, empty, MACHINES, empty, empty, start=START, end=END, by=by, every="shift")
    assert list(frame.columns) == list(output_columns(by))
    assert len(frame) == {"machine": 2, "line": 1, "plant": 1}[by]
    for name in ("availability", "performance", "quality", "oee", "mtbf_s", "mttr_s", "mttr_response_s",
                 "mttr_repair_s", "first_pass_yield", "otd", "output_vs_plan"):
        assert frame[name].isna().all(), name
    assert (frame["unknown_s"] == 12 * 3600 * len(MACHINES) / len(frame)).all()
    assert (frame["planned_s"] == 0).all() and not frame["performance_flag"].any()
    nothing = compute_kpis(None, None, None, start=START, end=END, by=by)
    assert len(nothing) == (1 if by == "plant" else 0)


def test_json_records_use_none_and_iso_timestamps_with_offset() -> None:
    frame = compute_kpis(plan(), None, MACHINES, start=START, end=END, every="day")
    records = to_json_records(frame)
    assert json.loads(json.dumps(records)) == records
    first = records[0]
    assert first["period_start"] == "2024-03-05T08:00:00+08:00"
    assert first["period_end"] == "2024-03-05T20:00:00+08:00"
    assert first["down_events"] == 1 and isinstance(first["down_events"], int)
    assert first["availability"] == pytest.approx(0.5) and first["quality"] is None
    assert first["performance_flag"] is False and first["shift"] is None
    assert set(first) == set(output_columns("machine")) and set(FIGURES) <= set(first)
    assert to_json_records(frame.iloc[:0]) == []
    assert np.isnan(frame["quality"].iloc[0])
