"""Vectorised KPI engine: split intervals on period edges, sum per machine, then per group, then ratios."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from bot.kpi.delivery import order_totals
from bot.kpi.figures import build_frame, figures
from bot.kpi.inputs import (
    DOWN,
    IDLE,
    NAT,
    PLANNED_STOP,
    RUNNING,
    SETUP,
    Alerts,
    Counts,
    Inputs,
    KpiInputError,
    Machines,
    Reports,
    States,
    StateTime,
    instant_ns,
    prepare,
)
from bot.kpi.periods import Periods, build_periods, locate, split_on_periods

BY: tuple[str, ...] = ("machine", "line", "plant")
DEFAULT_TZ = "Asia/Shanghai"
PLANT = "all"
MICRO = 6  # a down event shorter than the threshold: a speed loss, counted as run time
_CODES = 7


def _micro_codes(states: States, threshold_ns: float) -> tuple[np.ndarray, np.ndarray]:
    """State codes with micro-stops recoded, and each row's down-event id (contiguous down rows merge)."""
    code = states.state.copy()
    is_down = code == DOWN
    continues = np.zeros(len(code), dtype=bool)
    continues[1:] = (is_down[1:] & is_down[:-1] & (states.machine[1:] == states.machine[:-1])
                     & (states.start[1:] == states.end[:-1]))
    event = np.cumsum(is_down & ~continues) - 1
    if threshold_ns > 0 and is_down.any():
        duration = np.bincount(event[is_down], weights=(states.end - states.start)[is_down])
        code[is_down & (duration < threshold_ns)[np.maximum(event, 0)]] = MICRO
    return code, event


def _state_sums(
    states: States, periods: Periods, machines: int, threshold_ns: float, summed: StateTime | None = None
) -> dict[str, np.ndarray]:
    shape = (machines, len(periods))
    size = shape[0] * shape[1]
    code, event = _micro_codes(states, threshold_ns)
    row, period, overlap = split_on_periods(states.start, states.end, periods)
    cell = states.machine[row] * shape[1] + period
    piece = code[row]
    seconds = np.bincount(cell * _CODES + piece, weights=overlap, minlength=size * _CODES) / 1e9
    seconds = seconds.reshape(shape + (_CODES,))
    if summed is not None:
        if len(periods) != 1:
            raise KpiInputError("state_time is time summed over the whole window: it needs every=None")
        np.add.at(seconds[:, 0, :], (summed.machine, summed.state), summed.seconds)
    stops = (piece == DOWN) | (piece == MICRO)
    stop_event = event[row[stops]]
    first = np.ones(stop_event.size, dtype=bool)
    first[1:] = stop_event[1:] != stop_event[:-1]
    first_cell, first_code = cell[stops][first], piece[stops][first]

    def events(kind: int) -> np.ndarray:
        return np.bincount(first_cell[first_code == kind], minlength=size).reshape(shape).astype(np.float64)

    period_s = (periods.end - periods.start) / 1e9
    known = seconds[..., [RUNNING, IDLE, DOWN, PLANNED_STOP, SETUP, MICRO]].sum(axis=2)
    run = seconds[..., RUNNING] + seconds[..., MICRO]
    return {
        "run_s": run,
        "down_s": seconds[..., DOWN],
        "idle_s": seconds[..., IDLE],
        "setup_s": seconds[..., SETUP],
        "planned_stop_s": seconds[..., PLANNED_STOP],
        "micro_stop_s": seconds[..., MICRO],
        "unknown_s": np.maximum(period_s[None, :] - known, 0.0),
        "planned_s": run + seconds[..., DOWN] + seconds[..., IDLE] + seconds[..., SETUP],
        "down_events": events(DOWN),
        "micro_stops": events(MICRO),
    }


def _cell_totals(machine: np.ndarray, at: np.ndarray, periods: Periods, shape: tuple[int, int],
                 *weights: np.ndarray) -> list[np.ndarray]:
    """Per (machine, period) sums of each weight over the rows whose instant falls in a period."""
    period = locate(at, periods)
    keep = period >= 0
    cell = machine[keep] * shape[1] + period[keep]
    return [np.bincount(cell, weights=w[keep], minlength=shape[0] * shape[1]).reshape(shape) for w in weights]


def _report_sums(reports: Reports, periods: Periods, machines: Machines,
                 counts: Counts | None = None) -> dict[str, np.ndarray]:
    shape = (len(machines.names), len(periods))
    missing = np.isnan(reports.first_pass)
    good, scrap, first_pass_good, without_first_pass = _cell_totals(
        reports.machine, reports.at, periods, shape, reports.good, reports.scrap,
        np.where(missing, reports.good, reports.first_pass), missing.astype(np.float64))
    if machines.counted.any():
        # Counted machines take good/scrap from their counters; counters know no rework, so first-pass
        # good is the counted good and the yield is marked estimated wherever a delta counted.
        if counts is None:
            counted_good = counted_scrap = deltas = np.zeros(shape)
        else:
            counted_good, counted_scrap, deltas = _cell_totals(
                counts.machine, counts.at, periods, shape, counts.good, counts.scrap, np.ones(len(counts.at)))
        use = machines.counted[:, None]
        good, scrap = np.where(use, counted_good, good), np.where(use, counted_scrap, scrap)
        first_pass_good = np.where(use, counted_good, first_pass_good)
        without_first_pass = np.where(use, deltas, without_first_pass)
    return {
        "good": good,
        "scrap": scrap,
        "total": good + scrap,
        "ideal_run_s": machines.ideal_s[:, None] * (good + scrap),
        "first_pass_good": first_pass_good,
        "reports_without_first_pass": without_first_pass,
    }


def _alert_sums(alerts: Alerts | None, periods: Periods, machines: int) -> dict[str, np.ndarray]:
    shape = (machines, len(periods))
    if alerts is None:
        return {name: np.zeros(shape) for name in
                ("alerts_acknowledged", "alerts_fixed", "response_s_sum", "repair_s_sum")}
    period = locate(alerts.down_start, periods)
    out = {}
    for stamps, count_name, sum_name in ((alerts.acknowledged, "alerts_acknowledged", "response_s_sum"),
                                         (alerts.fixed, "alerts_fixed", "repair_s_sum")):
        keep = (period >= 0) & (stamps != NAT)
        cell = alerts.machine[keep] * shape[1] + period[keep]
        delay = (stamps[keep] - alerts.down_start[keep]) / 1e9
        out[count_name] = np.bincount(cell, minlength=shape[0] * shape[1]).reshape(shape).astype(np.float64)
        out[sum_name] = np.bincount(cell, weights=delay, minlength=shape[0] * shape[1]).reshape(shape)
    return out


def group_index(machines: Machines, by: str) -> tuple[np.ndarray, np.ndarray]:
    """Group code of each machine and the group names (machine order, sorted lines, or the plant)."""
    if by == "machine":
        return np.arange(len(machines.names)), machines.names
    if by == "line":
        names = np.unique(machines.lines.astype(str)).astype(object)
        return np.searchsorted(names, machines.lines.astype(str)), names
    return np.zeros(len(machines.names), dtype=np.int64), np.array([PLANT], dtype=object)


def _check_params(by: str, micro_stop_threshold_s: float) -> None:
    if by not in BY:
        raise KpiInputError(f"by must be one of {BY}, got {by!r}")
    if not np.isfinite(micro_stop_threshold_s) or micro_stop_threshold_s < 0:
        raise KpiInputError("micro_stop_threshold_s must be a finite number >= 0")


def compute_kpis(
    states: pd.DataFrame | None,
    reports: pd.DataFrame | None,
    machines: pd.DataFrame | None,
    work_orders: pd.DataFrame | None = None,
    alerts: pd.DataFrame | None = None,
    counts: pd.DataFrame | None = None,
    *,
    start: datetime | pd.Timestamp,
    end: datetime | pd.Timestamp,
    by: str = "machine",
    every: str | None = None,
    shifts: list[tuple[str, str, str]] | tuple[tuple[str, str, str], ...] | None = None,
    tz: str = DEFAULT_TZ,
    micro_stop_threshold_s: float = 0.0,
    state_time: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """KPIs per (group, period) for the window [start, end); see the package docstring for the definitions.
    `state_time` (machine, state, seconds): time inside the window already summed, beside `states` (which then
    hold at least every down interval); only with every=None."""
    _check_params(by, micro_stop_threshold_s)
    periods = build_periods(instant_ns(start, "start"), instant_ns(end, "end"), every, shifts, tz)
    inputs = prepare(states, reports, machines, work_orders, alerts, counts, state_time)
    return compute_prepared(inputs, periods, by, tz, micro_stop_threshold_s)


def compute_prepared(
    inputs: Inputs, periods: Periods, by: str, tz: str, micro_stop_threshold_s: float
) -> pd.DataFrame:
    """The engine proper, on validated inputs (exposed so the benchmark can time validation apart)."""
    count = len(inputs.machines.names)
    per_machine = _state_sums(inputs.states, periods, count, micro_stop_threshold_s * 1e9, inputs.state_time)
    per_machine |= _report_sums(inputs.reports, periods, inputs.machines, inputs.counts)
    per_machine |= _alert_sums(inputs.alerts, periods, count)
    machine_group, group_names = group_index(inputs.machines, by)
    shape = (len(group_names), len(periods))
    sums: dict[str, np.ndarray] = {}
    for name, matrix in per_machine.items():
        sums[name] = np.zeros(shape)
        np.add.at(sums[name], machine_group, matrix)
    sums |= order_totals(inputs, periods, by, machine_group, group_names)
    keys: dict[str, np.ndarray] = {by: np.repeat(group_names, shape[1])}
    if by == "machine":
        keys["line"] = np.repeat(inputs.machines.lines, shape[1])
    keys["shift"] = np.tile(periods.shift, shape[0])
    return build_frame(by, keys, np.tile(periods.start, shape[0]), np.tile(periods.end, shape[0]),
                       figures(sums), tz)
