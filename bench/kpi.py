"""Benchmark the KPI engine: a month of 200 machines by shift, against the row-by-row reference.

Run: .venv/bin/python -m bench.kpi   (the big run happens in a child process so its peak RSS is its own)
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bot.kpi import STATES, compute_kpis
from bot.kpi.engine import compute_prepared
from bot.kpi.inputs import instant_ns, prepare
from bot.kpi.periods import build_periods
from tests.bot.kpi.reference import reference_kpis

TZ = "Asia/Shanghai"
SHIFTS = [("day", "08:00", "20:00"), ("night", "20:00", "08:00")]
STATE_WEIGHTS = [0.70, 0.08, 0.08, 0.05, 0.05, 0.04]
MICRO_STOP_S = 120.0


@dataclass
class Dataset:
    """Generated inputs plus the window they cover."""

    states: pd.DataFrame
    reports: pd.DataFrame
    machines: pd.DataFrame
    work_orders: pd.DataFrame
    alerts: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp


def _utc(nanoseconds: np.ndarray) -> pd.DatetimeIndex:
    """UTC timestamps from int64 nanoseconds without pandas' per-object parsing path."""
    return pd.DatetimeIndex(np.asarray(nanoseconds, dtype=np.int64).view("datetime64[ns]")).tz_localize("UTC")


def generate(
    machines: int, days: int, intervals_per_day: int, reports_per_day: int, seed: int = 7
) -> Dataset:
    """Vectorised synthetic plant: back-to-back intervals with 1% gaps, reports, orders and alerts."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-03-01 00:00", tz=TZ)
    end = start + pd.Timedelta(days=days)
    span_s = days * 86400
    per = intervals_per_day * days
    weights = rng.exponential(1.0, (machines, per))
    share = np.cumsum(weights, axis=1) / weights.sum(axis=1, keepdims=True)
    edges = np.floor(share * span_s).astype(np.int64)
    begin_s = np.concatenate([np.zeros((machines, 1), np.int64), edges[:, :-1]], axis=1).ravel()
    finish_s = edges.ravel()
    keep = rng.random(begin_s.size) > 0.01
    origin = start.tz_convert("UTC").as_unit("ns").value
    names = np.array([f"M{i:03d}" for i in range(machines)], dtype=object)
    machine_of = np.repeat(np.arange(machines), per)[keep]
    states = pd.DataFrame({
        "machine": names[machine_of],
        "state": np.array(STATES, dtype=object)[rng.choice(len(STATES), keep.sum(), p=STATE_WEIGHTS)],
        "start": _utc(origin + begin_s[keep] * 1_000_000_000),
        "end": _utc(origin + finish_s[keep] * 1_000_000_000),
    })
    count = machines * reports_per_day * days
    orders = max(machines * days // 3, 1)
    order_names = np.array([f"WO{i:05d}" for i in range(orders)], dtype=object)
    report_machine = rng.integers(0, machines, count)
    good = rng.integers(0, 60, count)
    reports = pd.DataFrame({
        "reported_at": _utc(origin + rng.integers(0, span_s, count) * 1_000_000_000),
        "machine": names[report_machine],
        "work_order": order_names[rng.integers(0, orders, count)],
        "good": good,
        "scrap": rng.integers(0, 3, count),
        "first_pass_good": np.where(rng.random(count) < 0.5, np.nan, good - (good > 0)),
    })
    due = origin + rng.integers(0, span_s, orders) * 1_000_000_000
    completed = due + rng.integers(-86400, 43200, orders) * 1_000_000_000
    quantity = rng.integers(100, 5000, orders)
    work_orders = pd.DataFrame({
        "work_order": order_names,
        "quantity": quantity,
        "due": _utc(due),
        "completed_at": _utc(np.where(rng.random(orders) < 0.9, completed, np.iinfo(np.int64).min)),
        "completed_quantity": quantity - rng.integers(0, 2, orders) * 10,
    })
    down = states[states["state"] == "down"].sample(frac=0.5, random_state=seed)
    alerts = pd.DataFrame({
        "machine": down["machine"].to_numpy(),
        "down_start": down["start"].array,
        "acknowledged_at": (down["start"] + pd.to_timedelta(rng.integers(5, 600, len(down)), unit="s")).array,
        "fixed_at": down["end"].array,
    })
    table = pd.DataFrame({"machine": names, "line": [f"L{i // 10:02d}" for i in range(machines)],
                          "ideal_cycle_time_s": rng.uniform(5.0, 60.0, machines)})
    return Dataset(states, reports, table, work_orders, alerts, start, end)


def _options(data: Dataset) -> dict:
    return dict(start=data.start, end=data.end, by="machine", every="shift", shifts=SHIFTS, tz=TZ,
                micro_stop_threshold_s=MICRO_STOP_S)


def _frames(data: Dataset) -> tuple:
    return data.states, data.reports, data.machines, data.work_orders, data.alerts


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def child() -> None:
    """The big run: generate, time compute_kpis (best of 5), then its traced peak; print JSON."""
    rss_start = _peak_rss_mb()
    began = time.perf_counter()
    data = generate(machines=200, days=31, intervals_per_day=323, reports_per_day=162)
    generation_s = time.perf_counter() - began
    rss_generated = _peak_rss_mb()
    timings, prepare_s = [], []
    for _ in range(5):
        began = time.perf_counter()
        result = compute_kpis(*_frames(data), **_options(data))
        timings.append(time.perf_counter() - began)
        began = time.perf_counter()
        prepare(*_frames(data))
        prepare_s.append(time.perf_counter() - began)
    rss_computed = _peak_rss_mb()
    tracemalloc.start()
    compute_kpis(*_frames(data), **_options(data))
    traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(json.dumps({
        "intervals": len(data.states), "reports": len(data.reports), "orders": len(data.work_orders),
        "alerts": len(data.alerts), "output_rows": len(result), "generation_s": generation_s,
        "compute_s": min(timings), "validation_s": min(prepare_s), "rss_start_mb": rss_start,
        "rss_generated_mb": rss_generated, "rss_peak_mb": rss_computed, "traced_peak_mb": traced_peak,
    }))


def sample_comparison(days: int) -> dict:
    """5 machines x `days`: the reference's row throughput, and the engine agreeing with it exactly."""
    data = generate(machines=5, days=days, intervals_per_day=323, reports_per_day=162, seed=11)
    expected = reference_kpis(*_frames(data), **_options(data))
    reference_s = min(_timed(lambda: reference_kpis(*_frames(data), **_options(data)))
                      for _ in range(3 if days <= 2 else 1))
    engine_s = min(_timed(lambda: compute_kpis(*_frames(data), **_options(data))) for _ in range(5))
    actual = compute_kpis(*_frames(data), **_options(data))
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False, rtol=1e-9)
    inputs = prepare(*_frames(data))
    periods = build_periods(instant_ns(data.start, "start"), instant_ns(data.end, "end"), "shift", SHIFTS, TZ)
    core_s = min(_timed(lambda: compute_prepared(inputs, periods, "machine", TZ, MICRO_STOP_S))
                 for _ in range(5))
    return {"days": days, "rows": len(data.states) + len(data.reports), "reference_s": reference_s,
            "engine_s": engine_s, "engine_core_s": core_s}


def _timed(action) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def main() -> None:
    """Print each figure against its target and the in-run baseline, plus absolute numbers."""
    command = [sys.executable, "-m", "bench.kpi", "--child"]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    big = json.loads(out.stdout.strip().splitlines()[-1])
    rows = big["intervals"] + big["reports"]
    engine_rate = rows / big["compute_s"]
    print(f"data: {big['intervals']:,} state intervals, {big['reports']:,} reports, "
          f"{big['orders']:,} orders, {big['alerts']:,} alerts; 200 machines x 31 days by shift "
          f"-> {big['output_rows']:,} rows")
    print(f"generation (vectorised): {big['generation_s']:.2f} s")
    print(f"compute_kpis wall time (best of 5, incl. validation {big['validation_s']:.2f} s): "
          f"{big['compute_s']:.2f} s = {big['compute_s'] / 3.0:.2f} x the 3 s target; "
          f"{engine_rate:,.0f} rows/s")
    print(f"peak RSS of the benchmark child process (resource.getrusage ru_maxrss): "
          f"{big['rss_peak_mb']:.0f} MB = {big['rss_peak_mb'] / 1536:.2f} x the 1.5 GB target "
          f"(after imports {big['rss_start_mb']:.0f} MB, "
          f"after generating the data {big['rss_generated_mb']:.0f} MB)")
    print(f"tracemalloc peak during one compute_kpis call: {big['traced_peak_mb']:.0f} MB")
    for days in (2, 31):
        small = sample_comparison(days)
        reference_rate = small["rows"] / small["reference_s"]
        print(f"reference (row-by-row) on 5 machines x {days} days by shift, {small['rows']:,} rows: "
              f"{small['reference_s']:.3f} s = {reference_rate:,.0f} rows/s; engine on the same sample "
              f"{small['engine_s'] * 1000:.1f} ms ({small['reference_s'] / small['engine_s']:.0f}x; "
              f"core without "
              f"validation {small['engine_core_s'] * 1000:.1f} ms); outputs identical")
        print(f"  -> engine on the full month: {engine_rate / reference_rate:.0f}x the reference's per-row "
              f"throughput (target >= 50x)")


if __name__ == "__main__":
    child() if "--child" in sys.argv else main()
