"""Row-by-row reference implementation of compute_kpis: plain Python loops, for cross-checks and benchmarks.

Shares only input validation and period building with the engine; every sum and ratio is done here again.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import pandas as pd

from bot.kpi.engine import DEFAULT_TZ, PLANT, _check_params
from bot.kpi.figures import FIGURES, output_columns
from bot.kpi.inputs import DOWN, IDLE, NAT, PLANNED_STOP, RUNNING, SETUP, UNKNOWN, instant_ns, prepare
from bot.kpi.periods import build_periods

_TIME_NAMES = {RUNNING: "running_s", IDLE: "idle_s", DOWN: "down_s", PLANNED_STOP: "planned_stop_s",
               SETUP: "setup_s", UNKNOWN: "explicit_unknown_s"}


def _nan_ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


def _period_of(instant: int, periods: list[tuple[int, int]]) -> int:
    for index, (start, end) in enumerate(periods):
        if start <= instant < end:
            return index
    return -1


def reference_kpis(
    states: pd.DataFrame | None,
    reports: pd.DataFrame | None,
    machines: pd.DataFrame | None,
    work_orders: pd.DataFrame | None = None,
    alerts: pd.DataFrame | None = None,
    *,
    start: datetime | pd.Timestamp,
    end: datetime | pd.Timestamp,
    by: str = "machine",
    every: str | None = None,
    shifts: list[tuple[str, str, str]] | None = None,
    tz: str = DEFAULT_TZ,
    micro_stop_threshold_s: float = 0.0,
) -> pd.DataFrame:
    """Same contract and output as compute_kpis, computed one row at a time."""
    _check_params(by, micro_stop_threshold_s)
    built = build_periods(instant_ns(start, "start"), instant_ns(end, "end"), every, shifts, tz)
    data = prepare(states, reports, machines, work_orders, alerts)
    periods = list(zip(built.start.tolist(), built.end.tolist(), strict=True))
    names = data.machines.names.tolist()
    lines = data.machines.lines.tolist()
    group_of = {m: (names[m] if by == "machine" else lines[m] if by == "line" else PLANT)
                for m in range(len(names))}
    groups = names if by == "machine" else sorted(set(lines)) if by == "line" else [PLANT]
    acc: dict[tuple[str, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))

    # Down events: contiguous down rows of one machine; micro when the whole event is below the threshold.
    rows = list(zip(data.states.machine.tolist(), data.states.state.tolist(),
                    data.states.start.tolist(), data.states.end.tolist(), strict=True))
    event_of_row, durations, previous = [], [], None
    for machine, state, begin, finish in rows:
        if state == DOWN:
            if previous and previous[0] == machine and previous[1] == DOWN and previous[3] == begin:
                durations[-1] += finish - begin
            else:
                durations.append(finish - begin)
            event_of_row.append(len(durations) - 1)
        else:
            event_of_row.append(-1)
        previous = (machine, state, begin, finish)
    threshold_ns = micro_stop_threshold_s * 1e9
    counted = set()
    for (machine, state, begin, finish), event in zip(rows, event_of_row, strict=True):
        micro = event >= 0 and durations[event] < threshold_ns
        for index, (period_start, period_end) in enumerate(periods):
            overlap = min(finish, period_end) - max(begin, period_start)
            if overlap <= 0:
                continue
            cell = acc[(group_of[machine], index)]
            cell["micro_stop_s" if micro else _TIME_NAMES[state]] += overlap / 1e9
            if event >= 0 and event not in counted:
                counted.add(event)
                cell["micro_stops" if micro else "down_events"] += 1

    ideal = data.machines.ideal_s.tolist()
    r = data.reports
    for machine, at, good, scrap, first_pass in zip(r.machine.tolist(), r.at.tolist(), r.good.tolist(),
                                                    r.scrap.tolist(), r.first_pass.tolist(), strict=True):
        index = _period_of(at, periods)
        if index < 0:
            continue
        cell = acc[(group_of[machine], index)]
        cell["good"] += good
        cell["scrap"] += scrap
        cell["ideal_run_s"] += ideal[machine] * (good + scrap)
        if first_pass != first_pass:
            cell["first_pass_good"] += good
            cell["reports_without_first_pass"] += 1
        else:
            cell["first_pass_good"] += first_pass

    if data.alerts is not None:
        a = data.alerts
        columns = (a.machine.tolist(), a.down_start.tolist(), a.acknowledged.tolist(), a.fixed.tolist())
        for machine, down_start, acknowledged, fixed in zip(*columns, strict=True):
            index = _period_of(down_start, periods)
            if index < 0:
                continue
            cell = acc[(group_of[machine], index)]
            if acknowledged != NAT:
                cell["alerts_acknowledged"] += 1
                cell["response_s_sum"] += (acknowledged - down_start) / 1e9
            if fixed != NAT:
                cell["alerts_fixed"] += 1
                cell["repair_s_sum"] += (fixed - down_start) / 1e9

    _orders(data, by, names, lines, periods, acc)
    machine_count = {g: 0 for g in groups}
    for m in range(len(names)):
        machine_count[group_of[m]] += 1
    records = []
    for group in groups:
        for index, (period_start, period_end) in enumerate(periods):
            cell = acc[(group, index)]
            record = _figures(cell, machine_count[group] * (period_end - period_start) / 1e9)
            record.update({by: group, "shift": built.shift[index],
                           "period_start": pd.Timestamp(period_start, tz="UTC").tz_convert(tz),
                           "period_end": pd.Timestamp(period_end, tz="UTC").tz_convert(tz)})
            if by == "machine":
                record["line"] = lines[names.index(group)]
            records.append(record)
    return pd.DataFrame(records, columns=list(output_columns(by)))


def _orders(data, by: str, names: list, lines: list, periods: list, acc: dict) -> None:
    """Attribute each order to its groups (explicit machine/line first, else its reports) and count it."""
    o = data.orders
    order_names = o.names.tolist()
    reported_on: dict[int, set[int]] = defaultdict(set)
    for order, machine in zip(data.reports.work_order.tolist(), data.reports.machine.tolist(), strict=True):
        if order >= 0:
            reported_on[order].add(machine)
    for index in range(len(order_names)):
        if by == "plant":
            targets = {PLANT}
        elif o.machine[index] >= 0:
            machine = int(o.machine[index])
            targets = {names[machine] if by == "machine" else lines[machine]}
        elif by == "line" and o.line[index] is not None:
            targets = {o.line[index]}
        else:
            targets = {names[m] if by == "machine" else lines[m] for m in reported_on[index]}
        period = _period_of(int(o.due[index]), periods)
        if period < 0:
            continue
        completed = int(o.completed[index]) != NAT
        done = float(o.completed_quantity[index])
        if done != done:
            done = float(o.quantity[index]) if completed else 0.0
        on_time = (completed and int(o.completed[index]) <= int(o.due[index])
                   and done >= float(o.quantity[index]))
        for group in targets:
            cell = acc[(group, period)]
            cell["orders_due"] += 1
            cell["orders_on_time"] += 1 if on_time else 0
            cell["plan_quantity"] += float(o.quantity[index])


def _figures(cell: dict[str, float], capacity_s: float) -> dict:
    """Ratios for one (group, period) from its sums."""
    run = cell["running_s"] + cell["micro_stop_s"]
    known = run + cell["down_s"] + cell["idle_s"] + cell["setup_s"] + cell["planned_stop_s"]
    total = cell["good"] + cell["scrap"]
    out = {name: cell[name] for name in ("down_s", "idle_s", "setup_s", "planned_stop_s", "micro_stop_s",
                                          "down_events", "micro_stops", "good", "scrap", "ideal_run_s",
                                          "first_pass_good", "alerts_acknowledged", "alerts_fixed",
                                          "orders_due", "orders_on_time", "plan_quantity")}
    availability = _nan_ratio(run, run + cell["down_s"] + cell["idle_s"] + cell["setup_s"])
    performance = _nan_ratio(cell["ideal_run_s"], run)
    quality = _nan_ratio(cell["good"], total)
    out.update(
        run_s=run, total=total, unknown_s=max(capacity_s - known, 0.0),
        planned_s=run + cell["down_s"] + cell["idle_s"] + cell["setup_s"],
        availability=availability, performance=performance, performance_flag=performance > 1.0,
        quality=quality, oee=availability * performance * quality,
        mtbf_s=_nan_ratio(run, cell["down_events"]), mttr_s=_nan_ratio(cell["down_s"], cell["down_events"]),
        mttr_response_s=_nan_ratio(cell["response_s_sum"], cell["alerts_acknowledged"]),
        mttr_repair_s=_nan_ratio(cell["repair_s_sum"], cell["alerts_fixed"]),
        first_pass_yield=_nan_ratio(cell["first_pass_good"], total),
        first_pass_yield_estimated=cell["reports_without_first_pass"] > 0,
        otd=_nan_ratio(cell["orders_on_time"], cell["orders_due"]),
        output_vs_plan=_nan_ratio(cell["good"], cell["plan_quantity"]),
    )
    assert set(out) == set(FIGURES)
    return {name: (int(v) if isinstance(v, float) and name in _INTS else v) for name, v in out.items()}


_INTS = {"down_events", "micro_stops", "good", "scrap", "total", "first_pass_good", "alerts_acknowledged",
         "alerts_fixed", "orders_due", "orders_on_time"}
