"""On-time delivery and plan figures from work orders, attributed to machines/lines, each counted once."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bot.kpi.inputs import NAT, Inputs, Orders
from bot.kpi.periods import Periods, locate


def on_time(orders: Orders) -> np.ndarray:
    """Completed in full by the due time; a missing completed_quantity means the completed order was full."""
    completed = orders.completed != NAT
    done = np.where(np.isnan(orders.completed_quantity), np.where(completed, orders.quantity, 0.0),
                    orders.completed_quantity)
    return completed & (orders.completed <= orders.due) & (done >= orders.quantity)


def order_groups(
    inputs: Inputs, by: str, machine_group: np.ndarray, group_names: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (order, group) pairs: work_orders.machine/line when given, else the reports on the order."""
    orders, reports = inputs.orders, inputs.reports
    count = len(orders.names)
    if by == "plant":
        return np.arange(count), np.zeros(count, dtype=np.int64)
    attributed = orders.machine >= 0
    order_parts = [np.flatnonzero(attributed)]
    group_parts = [machine_group[orders.machine[attributed]]]
    if by == "line":
        by_line = ~attributed & pd.notna(orders.line)
        order_parts.append(np.flatnonzero(by_line))
        group_parts.append(np.searchsorted(group_names, orders.line[by_line].astype(str)))
        attributed = attributed | by_line
    linked = reports.work_order >= 0
    report_order = reports.work_order[linked]
    report_group = machine_group[reports.machine[linked]]
    fallback = ~attributed[report_order]
    order_parts.append(report_order[fallback])
    group_parts.append(report_group[fallback])
    groups = max(len(group_names), 1)
    keys = np.concatenate(order_parts).astype(np.int64) * groups + np.concatenate(group_parts)
    if count * groups <= 50_000_000:  # a presence mask beats sorting a million report keys
        seen = np.zeros(count * groups, dtype=bool)
        seen[keys] = True
        keys = np.flatnonzero(seen)
    else:
        keys = np.unique(keys)
    return keys // groups, keys % groups


def order_totals(
    inputs: Inputs, periods: Periods, by: str, machine_group: np.ndarray, group_names: np.ndarray
) -> dict[str, np.ndarray]:
    """Orders due, on time and planned quantity per (group, period) for orders due in that period."""
    shape = (len(group_names), len(periods))
    order, group = order_groups(inputs, by, machine_group, group_names)
    period = locate(inputs.orders.due[order], periods)
    keep = period >= 0
    cell = group[keep] * shape[1] + period[keep]
    order = order[keep]
    size = shape[0] * shape[1]

    def total(weights: np.ndarray | None) -> np.ndarray:
        return np.bincount(cell, weights=weights, minlength=size).astype(np.float64).reshape(shape)

    return {
        "orders_due": total(None),
        "orders_on_time": total(on_time(inputs.orders)[order].astype(np.float64)),
        "plan_quantity": total(inputs.orders.quantity[order]),
    }
