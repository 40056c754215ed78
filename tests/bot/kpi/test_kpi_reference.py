"""The vectorised engine agrees with the row-by-row reference on random plants, every grouping and period."""

import numpy as np
import pandas as pd
import pytest

from bot.kpi import compute_kpis
from tests.bot.kpi.reference import reference_kpis

T0 = pd.Timestamp("2024-03-30 10:00", tz="UTC")


def random_plant(seed: int) -> tuple[pd.DataFrame, ...]:
    rng = np.random.default_rng(seed)
    names = ["m0", "m1", "m2", "m3"]
    rows = []
    for machine in names:
        moment = T0 - pd.Timedelta(hours=3)
        while moment < T0 + pd.Timedelta(days=3):
            length = pd.Timedelta(seconds=int(rng.integers(10, 7200)))
            state = rng.choice(["running", "idle", "down", "down", "planned_stop", "setup", "unknown", "gap"])
            if state != "gap":
                rows.append((machine, state, moment, moment + length))
            moment += length
    states = pd.DataFrame(rows, columns=["machine", "state", "start", "end"])
    count = 200
    reports = pd.DataFrame({
        "reported_at": T0 + pd.to_timedelta(rng.integers(-3600, 3 * 86400, count), unit="s"),
        "machine": rng.choice(names, count), "good": rng.integers(0, 50, count),
        "scrap": rng.integers(0, 5, count), "work_order": rng.choice([f"w{i}" for i in range(12)], count)})
    first_pass = (reports["good"] - rng.integers(0, 3, count)).clip(lower=0)
    reports["first_pass_good"] = np.where(rng.random(count) < 0.3, np.nan, first_pass)
    machines = pd.DataFrame({"machine": names, "line": ["L1", "L1", "L2", "L2"],
                             "ideal_cycle_time_s": [1.5, 2.0, 30.0, 0.5]})
    due = T0 + pd.to_timedelta(rng.integers(0, 3 * 86400, 12), unit="s")
    done = due + pd.to_timedelta(rng.integers(-86400, 86400, 12), unit="s")
    orders = pd.DataFrame({"work_order": [f"w{i}" for i in range(12)], "quantity": rng.integers(10, 100, 12),
                           "due": due, "completed_at": done.where(rng.random(12) < 0.8),
                           "completed_quantity": rng.integers(5, 100, 12),
                           "line": [None] * 6 + ["L1", "L2"] * 3,
                           "machine": [None] * 4 + ["m0", "m3"] + [None] * 4 + ["m1", "m2"]})
    down = T0 + pd.to_timedelta(rng.integers(0, 3 * 86400, 30), unit="s")
    alerts = pd.DataFrame({
        "machine": rng.choice(names, 30), "down_start": down,
        "acknowledged_at": (down + pd.to_timedelta(rng.integers(0, 600, 30), unit="s"))
        .where(rng.random(30) < 0.8),
        "fixed_at": down + pd.to_timedelta(rng.integers(600, 6000, 30), unit="s")})
    return states, reports, machines, orders, alerts


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("by", ["machine", "line", "plant"])
@pytest.mark.parametrize("every", [None, "shift", "day", "week", "month"])
def test_engine_matches_reference(seed: int, by: str, every: str | None) -> None:
    frames = random_plant(seed)
    options = dict(start=T0, end=T0 + pd.Timedelta(days=2), by=by, every=every, micro_stop_threshold_s=300,
                   shifts=[("A", "06:00", "14:00"), ("B", "14:00", "22:00")] if seed == 1 else None)
    expected = reference_kpis(*frames, **options)
    actual = compute_kpis(*frames, **options)
    assert expected["down_events"].sum() > 0 and expected["good"].sum() > 0
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False, rtol=1e-9)
