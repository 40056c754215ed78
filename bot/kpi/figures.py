"""Turn summed times and counts into ISO 22400 ratios and the output frame; ratios only after summing."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

SUMMED: tuple[str, ...] = (
    "planned_s", "run_s", "down_s", "idle_s", "setup_s", "planned_stop_s", "unknown_s", "micro_stop_s",
    "down_events", "micro_stops", "good", "scrap", "total", "ideal_run_s", "first_pass_good",
    "reports_without_first_pass", "alerts_acknowledged", "alerts_fixed", "response_s_sum", "repair_s_sum",
    "orders_due", "orders_on_time", "plan_quantity",
)
FIGURES: tuple[str, ...] = (
    "planned_s", "run_s", "down_s", "idle_s", "setup_s", "planned_stop_s", "unknown_s", "micro_stop_s",
    "down_events", "micro_stops", "good", "scrap", "total", "ideal_run_s",
    "availability", "performance", "performance_flag", "quality", "oee",
    "mtbf_s", "mttr_s", "mttr_response_s", "mttr_repair_s", "alerts_acknowledged", "alerts_fixed",
    "first_pass_good", "first_pass_yield", "first_pass_yield_estimated",
    "otd", "orders_due", "orders_on_time", "plan_quantity", "output_vs_plan",
)
COUNTS: tuple[str, ...] = (
    "down_events", "micro_stops", "good", "scrap", "total", "first_pass_good", "alerts_acknowledged",
    "alerts_fixed", "orders_due", "orders_on_time",
)


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator with NaN where the denominator is zero (never inf, never an exception)."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def figures(sums: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every output figure from the summed inputs (arrays of any common shape)."""
    availability = ratio(sums["run_s"], sums["planned_s"])
    performance = ratio(sums["ideal_run_s"], sums["run_s"])
    quality = ratio(sums["good"], sums["total"])
    out = {name: sums[name] for name in SUMMED if name in FIGURES}
    out.update(
        availability=availability,
        performance=performance,
        performance_flag=np.nan_to_num(performance, nan=0.0) > 1.0,
        quality=quality,
        oee=availability * performance * quality,
        mtbf_s=ratio(sums["run_s"], sums["down_events"]),
        mttr_s=ratio(sums["down_s"], sums["down_events"]),
        mttr_response_s=ratio(sums["response_s_sum"], sums["alerts_acknowledged"]),
        mttr_repair_s=ratio(sums["repair_s_sum"], sums["alerts_fixed"]),
        first_pass_yield=ratio(sums["first_pass_good"], sums["total"]),
        first_pass_yield_estimated=sums["reports_without_first_pass"] > 0,
        otd=ratio(sums["orders_on_time"], sums["orders_due"]),
        output_vs_plan=ratio(sums["good"], sums["plan_quantity"]),
    )
    return out


def key_columns(by: str) -> tuple[str, ...]:
    """The leading columns of the output frame for a grouping."""
    return ((by, "line") if by == "machine" else (by,)) + ("shift", "period_start", "period_end")


def output_columns(by: str) -> tuple[str, ...]:
    """All output columns, in order."""
    return key_columns(by) + FIGURES


def build_frame(
    by: str,
    keys: dict[str, np.ndarray],
    period_start: np.ndarray,
    period_end: np.ndarray,
    values: dict[str, np.ndarray],
    tz: str,
) -> pd.DataFrame:
    """One row per (group, period): flat arrays in, typed columns out, period edges in the plant zone."""
    columns: dict[str, Any] = dict(keys)
    columns["period_start"] = pd.to_datetime(period_start, utc=True).tz_convert(tz)
    columns["period_end"] = pd.to_datetime(period_end, utc=True).tz_convert(tz)
    for name in FIGURES:
        array = np.asarray(values[name]).ravel()
        columns[name] = array.astype(np.int64) if name in COUNTS else array
    return pd.DataFrame(columns, columns=list(output_columns(by)))


def _plain(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def to_json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows: NaN and NaT become None, timestamps ISO 8601 with their offset."""
    columns = {name: [_plain(v) for v in frame[name].tolist()] for name in frame.columns}
    rows = zip(*columns.values(), strict=True)
    return [dict(zip(columns, row, strict=True)) for row in rows] if len(frame) else []
