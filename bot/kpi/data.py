"""Load the KPI engine's input frames for a window from the database: one query per frame, no row loops."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Line, Machine, Operation, WorkOrder
from bot.models.equipment import CounterDelta, DowntimeAlert, MachineState
from bot.models.reports import ReportStatus, WorkReport

# A counter delta counts where its midpoint lies; one longer than this (a collector stopped for over a week)
# is not looked for, so that the query can use the (machine, start) index.
LONGEST_DELTA = timedelta(days=7)
COUNTED = ("counters", "both")


@dataclass
class KpiFrames:
    """The engine's inputs; pass them as compute_kpis(f.states, f.reports, f.machines, f.work_orders, f.alerts,
    f.counts, state_time=f.state_time) (state_time: time summed by the database, bot/kpi/summed.py)."""

    machines: pd.DataFrame
    states: pd.DataFrame
    reports: pd.DataFrame
    work_orders: pd.DataFrame
    alerts: pd.DataFrame
    counts: pd.DataFrame = field(default_factory=pd.DataFrame)
    state_time: pd.DataFrame = field(default_factory=pd.DataFrame)


def output_sources(settings: Any) -> dict[str, str]:
    """Machine code -> where its output counts come from (`[[equipment.machines]] output`); unlisted: reports."""
    return {m.code: m.output_source() for m in settings.feature("equipment").machines}


def _utc(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    for name in columns:
        frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


async def query_frame(session: AsyncSession, query: object, columns: list[str]) -> pd.DataFrame:
    """The rows of a query as a frame with these columns (typed empty columns when there are none)."""
    rows = (await session.execute(query)).all()  # type: ignore[call-overload]
    if not rows:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in columns})
    return pd.DataFrame(dict(zip(columns, (list(values) for values in zip(*rows, strict=True)), strict=True)))


async def load_counts(session: AsyncSession, codes: list[str], start: datetime, end: datetime) -> pd.DataFrame:
    """Counter deltas of these machines whose midpoint may lie in [start, end) (the engine decides exactly)."""
    columns = ["machine", "start", "end", "good", "scrap"]
    if not codes:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in columns})
    counts = await query_frame(session, select(Machine.code, CounterDelta.start_at, CounterDelta.end_at,
                                          CounterDelta.good, CounterDelta.scrap)
                          .join(Machine, CounterDelta.machine_id == Machine.id)
                          .where(Machine.code.in_(codes), CounterDelta.start_at < end,
                                 CounterDelta.start_at >= start - LONGEST_DELTA, CounterDelta.end_at >= start),
                          columns)
    return _utc(counts, "start", "end")


async def load_machines(session: AsyncSession,
                        output: Mapping[str, str] | None) -> tuple[pd.DataFrame, list[int]]:
    """The machines frame (with where each one's output comes from) and the machines' ids in the same order."""
    machines = await query_frame(session, select(Machine.code, Line.code, Machine.ideal_cycle_time_s, Machine.id)
                                 .join(Line, Machine.line_id == Line.id).order_by(Machine.code),
                                 ["machine", "line", "ideal_cycle_time_s", "id"])
    ids = [int(i) for i in machines.pop("id").tolist()]
    machines["output"] = [(output or {}).get(code, "reports") for code in machines["machine"]]
    return machines, ids


async def load_orders(session: AsyncSession, start: datetime, end: datetime, machines: pd.DataFrame) -> pd.DataFrame:
    orders = await query_frame(session, select(WorkOrder.code, WorkOrder.quantity, WorkOrder.due_at,
                                               WorkOrder.completed_at, Line.code)
                               .outerjoin(Line, WorkOrder.line_id == Line.id)
                               .where(and_(WorkOrder.due_at >= start, WorkOrder.due_at < end)),
                               ["work_order", "quantity", "due", "completed_at", "line"])
    _utc(orders, "due", "completed_at")
    orders["line"] = orders["line"].where(orders["line"].isin(machines["line"]), None)
    return orders


async def load_alerts(session: AsyncSession, start: datetime, end: datetime) -> pd.DataFrame:
    alerts = await query_frame(session, select(Machine.code, DowntimeAlert.down_start, DowntimeAlert.acknowledged_at,
                                               DowntimeAlert.fixed_at)
                               .join(Machine, DowntimeAlert.machine_id == Machine.id)
                               .where(DowntimeAlert.down_start >= start, DowntimeAlert.down_start < end),
                               ["machine", "down_start", "acknowledged_at", "fixed_at"])
    return _utc(alerts, "down_start", "acknowledged_at", "fixed_at")


async def load_frames(session: AsyncSession, start: datetime, end: datetime, now: datetime, *,
                      output: Mapping[str, str] | None = None) -> KpiFrames:
    """Everything touching [start, end); an open state interval ends at `now` (later time is unknown).
    `output` (machine code -> counters | reports | both, see output_sources) says whose parts are counted.
    A one-period call at scale wants bot.kpi.summed.load_window, which lets the database do the sums."""
    machines, _ids = await load_machines(session, output)
    counted = [code for code, source in zip(machines["machine"], machines["output"], strict=True)
               if source in COUNTED]
    states = await query_frame(session, select(Machine.code, MachineState.state, MachineState.start_at,
                                          MachineState.end_at, MachineState.reason_code)
                          .join(Machine, MachineState.machine_id == Machine.id)
                          .where(MachineState.start_at < end,
                                 or_(MachineState.end_at.is_(None), MachineState.end_at > start)),
                          ["machine", "state", "start", "end", "reason"])
    _utc(states, "start", "end")
    states["end"] = states["end"].fillna(pd.Timestamp(now)).clip(lower=states["start"])
    machine_id = func.coalesce(WorkReport.machine_id, Operation.machine_id)
    reports = await query_frame(session, select(WorkReport.created_at, Machine.code, WorkReport.good, WorkReport.scrap,
                                           WorkOrder.code)
                           .join(Operation, WorkReport.operation_id == Operation.id)
                           .join(Machine, Machine.id == machine_id)
                           .join(WorkOrder, WorkReport.work_order_id == WorkOrder.id)
                           .where(WorkReport.status == ReportStatus.CONFIRMED.value,
                                  WorkReport.created_at >= start, WorkReport.created_at < end),
                           ["reported_at", "machine", "good", "scrap", "work_order"])
    _utc(reports, "reported_at")
    return KpiFrames(machines, states, reports, await load_orders(session, start, end, machines),
                     await load_alerts(session, start, end), await load_counts(session, counted, start, end))
