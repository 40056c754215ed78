"""Output from the machines' counters: counted machines take good/scrap from counter deltas, the others keep
their reports, and a machine's output source never changes another machine's figures."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from bot.kpi import KpiInputError, compute_kpis

D0 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai: the day shift
SHIFT = timedelta(hours=12)
SHIFTS = [("D", "08:00", "20:00"), ("N", "20:00", "08:00")]


def machines(m1: str | None = "both", m2: str | None = "reports") -> pd.DataFrame:
    frame = pd.DataFrame({"machine": ["M1", "M2"], "line": ["L1", "L1"], "ideal_cycle_time_s": [20.0, 40.0]})
    if m1 is not None or m2 is not None:
        frame["output"] = [m1, m2]
    return frame


STATES = pd.DataFrame({"machine": ["M1", "M2"], "state": ["running", "running"], "start": [D0, D0],
                       "end": [D0 + SHIFT, D0 + SHIFT]})
REPORTS = pd.DataFrame({"reported_at": [D0 + timedelta(hours=5), D0 + timedelta(hours=6)],
                        "machine": ["M1", "M2"], "good": [900, 300], "scrap": [0, 10], "work_order": ["WO1", "WO2"]})


def counts(rows: list[tuple[str, timedelta, timedelta, int, int]]) -> pd.DataFrame:
    return pd.DataFrame([{"machine": m, "start": D0 + a, "end": D0 + b, "good": g, "scrap": s}
                         for m, a, b, g, s in rows])


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


# M1 counts 1,000 parts in the shift (980 good, 20 scrap); M2's counter rows must be ignored (it reports).
COUNTS = counts([("M1", minutes(0), minutes(60), 500, 10), ("M1", minutes(60), minutes(600), 480, 10),
                 ("M2", minutes(0), minutes(60), 5000, 0)])


def shift(frame_machines: pd.DataFrame, counted: pd.DataFrame | None, by: str = "machine") -> pd.DataFrame:
    return compute_kpis(STATES, REPORTS, frame_machines, counts=counted, start=D0, end=D0 + SHIFT, by=by,
                        tz="Asia/Shanghai")


def test_counted_machine_takes_good_and_scrap_from_its_counters() -> None:
    table = shift(machines(), COUNTS).set_index("machine")
    m1 = table.loc["M1"]
    assert (m1["good"], m1["scrap"], m1["total"]) == (980, 20, 1000)  # the counters, not the report of 900
    assert m1["performance"] == pytest.approx(1000 * 20 / 43200)
    assert m1["oee"] == pytest.approx(1.0 * (1000 * 20 / 43200) * 0.98)
    assert m1["first_pass_good"] == 980 and bool(m1["first_pass_yield_estimated"])  # counters know no rework
    m2 = table.loc["M2"]
    assert (m2["good"], m2["scrap"]) == (300, 10)  # a reporting machine ignores counter rows


def test_reports_only_figures_stay_exactly_as_before() -> None:
    before = shift(machines(None, None), None)
    assert before.loc[0, "good"] == 900
    pd.testing.assert_frame_equal(shift(machines("reports", "reports"), COUNTS), before)
    pd.testing.assert_frame_equal(shift(machines(None, None), COUNTS), before)


def test_lines_sum_counted_and_reported_machines() -> None:
    line = shift(machines(), COUNTS, by="line").iloc[0]
    assert (line["good"], line["scrap"]) == (980 + 300, 20 + 10)
    assert line["ideal_run_s"] == pytest.approx(1000 * 20 + 310 * 40)


def test_counted_machine_without_counts_has_no_output_not_its_reports() -> None:
    m1 = shift(machines("counters"), None).set_index("machine").loc["M1"]
    assert (m1["good"], m1["total"], m1["performance"]) == (0, 0, 0.0)
    assert not m1["first_pass_yield_estimated"]


def test_a_delta_counts_in_the_shift_holding_its_midpoint() -> None:
    edge = SHIFT  # 20:00 local
    deltas = counts([("M1", edge - minutes(3), edge + minutes(1), 7, 0),  # midpoint 19:59: day shift
                     ("M1", edge - minutes(1), edge + minutes(3), 11, 0),  # midpoint 20:01: night shift
                     ("M1", edge, edge, 13, 0)])  # a zero-length delta at the edge: night shift
    table = compute_kpis(STATES, None, machines(), counts=deltas, start=D0, end=D0 + 2 * SHIFT, every="shift",
                         shifts=SHIFTS, tz="Asia/Shanghai")
    m1 = table[table["machine"] == "M1"].set_index("shift")
    assert (m1.loc["D", "good"], m1.loc["N", "good"]) == (7, 24)


def test_bad_output_source_or_counts_are_refused() -> None:
    with pytest.raises(KpiInputError, match="machines.output"):
        shift(machines("plc"), COUNTS)
    backwards = counts([("M1", minutes(10), minutes(5), 1, 0)])
    with pytest.raises(KpiInputError, match="ending before they start"):
        shift(machines(), backwards)
    with pytest.raises(KpiInputError, match="counts.good"):
        shift(machines(), counts([("M1", minutes(0), minutes(5), -1, 0)]))
