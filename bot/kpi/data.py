"""Load the KPI engine's input frames for a window from the database: one query per frame, no row loops."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Line, Machine, Operation, WorkOrder
from bot.models.equipment import DowntimeAlert, MachineState
from bot.models.reports import ReportStatus, WorkReport


@dataclass
class KpiFrames:
    """The engine's inputs; pass them as compute_kpis(f.states, f.reports, f.machines, f.work_orders, f.alerts)."""

    machines: pd.DataFrame
    states: pd.DataFrame
    reports: pd.DataFrame
    work_orders: pd.DataFrame
    alerts: pd.DataFrame


def _utc(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    for name in columns:
        frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


async def _frame(session: AsyncSession, query: object, columns: list[str]) -> pd.DataFrame:
    rows = (await session.execute(query)).all()  # type: ignore[call-overload]
    if not rows:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in columns})
    return pd.DataFrame(dict(zip(columns, (list(values) for values in zip(*rows, strict=True)), strict=True)))


async def load_frames(session: AsyncSession, start: datetime, end: datetime, now: datetime) -> KpiFrames:
    """Everything touching [start, end); an open state interval ends at `now` (later time is unknown)."""
    machines = await _frame(session, select(Machine.code, Line.code, Machine.ideal_cycle_time_s)
                            .join(Line, Machine.line_id == Line.id).order_by(Machine.code),
                            ["machine", "line", "ideal_cycle_time_s"])
    states = await _frame(session, select(Machine.code, MachineState.state, MachineState.start_at,
                                          MachineState.end_at, MachineState.reason_code)
                          .join(Machine, MachineState.machine_id == Machine.id)
                          .where(MachineState.start_at < end,
                                 or_(MachineState.end_at.is_(None), MachineState.end_at > start)),
                          ["machine", "state", "start", "end", "reason"])
    _utc(states, "start", "end")
    states["end"] = states["end"].fillna(pd.Timestamp(now)).clip(lower=states["start"])
    machine_id = func.coalesce(WorkReport.machine_id, Operation.machine_id)
    reports = await _frame(session, select(WorkReport.created_at, Machine.code, WorkReport.good, WorkReport.scrap,
                                           WorkOrder.code)
                           .join(Operation, WorkReport.operation_id == Operation.id)
                           .join(Machine, Machine.id == machine_id)
                           .join(WorkOrder, WorkReport.work_order_id == WorkOrder.id)
                           .where(WorkReport.status == ReportStatus.CONFIRMED.value,
                                  WorkReport.created_at >= start, WorkReport.created_at < end),
                           ["reported_at", "machine", "good", "scrap", "work_order"])
    _utc(reports, "reported_at")
    orders = await _frame(session, select(WorkOrder.code, WorkOrder.quantity, WorkOrder.due_at,
                                          WorkOrder.completed_at, Line.code)
                          .outerjoin(Line, WorkOrder.line_id == Line.id)
                          .where(and_(WorkOrder.due_at >= start, WorkOrder.due_at < end)),
                          ["work_order", "quantity", "due", "completed_at", "line"])
    _utc(orders, "due", "completed_at")
    orders["line"] = orders["line"].where(orders["line"].isin(machines["line"]), None)
    alerts = await _frame(session, select(Machine.code, DowntimeAlert.down_start, DowntimeAlert.acknowledged_at,
                                          DowntimeAlert.fixed_at)
                          .join(Machine, DowntimeAlert.machine_id == Machine.id)
                          .where(DowntimeAlert.down_start >= start, DowntimeAlert.down_start < end),
                          ["machine", "down_start", "acknowledged_at", "fixed_at"])
    _utc(alerts, "down_start", "acknowledged_at", "fixed_at")
    return KpiFrames(machines, states, reports, orders, alerts)
