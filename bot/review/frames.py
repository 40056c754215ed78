"""`bot.kpi.data.load_frames` for a month on SQLite, fast: the two big frames (state intervals, reports) are read
through the driver's own fetch with their times as stored text and parsed in one vectorised call, instead of
one SQLAlchemy row and one datetime per value (at 2 M intervals that was 40 of the review's seconds).

The frames are the same as load_frames' (tests/bot/review/test_frames.py compares them on every column); other
databases use load_frames itself. Why here and not in bot/kpi: see docs/review.md, "Performance"."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.kpi.data import COUNTED, KpiFrames, load_counts, load_frames, query_frame
from bot.models import Line, Machine, WorkOrder
from bot.models.equipment import DowntimeAlert
from bot.models.reports import ReportStatus

STORED = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy keeps a DateTime in SQLite (UTC here, see bot.db.UtcDateTime)
STATES_SQL = ("SELECT machine_id, state, start_at, end_at, reason_code FROM machine_states "
              "WHERE start_at < ? AND (end_at IS NULL OR end_at > ?)")
REPORTS_SQL = ("SELECT r.created_at, m.code, r.good, r.scrap, o.code, r.id, r.source, r.user_id, r.reason_code "
               "FROM work_reports r "
               "JOIN operations op ON r.operation_id = op.id "
               "JOIN machines m ON m.id = coalesce(r.machine_id, op.machine_id) "
               "JOIN work_orders o ON r.work_order_id = o.id "
               "WHERE r.status = ? AND r.created_at >= ? AND r.created_at < ?")


def stored(value: datetime) -> str:
    return value.astimezone(UTC).strftime(STORED)


def parsed(values: pd.Series) -> pd.Series:
    return pd.Series(pd.to_datetime(values.astype(object), format=STORED, utc=True), index=values.index)


CHUNK = 200_000  # rows per fetch: the boxed values of one chunk at a time, not of the whole month


async def _frame(session: AsyncSession, sql: str, params: tuple[object, ...], columns: list[str],
                 convert: Callable[[pd.DataFrame], pd.DataFrame]) -> pd.DataFrame:
    """The query's rows in chunks, each turned into typed columns (`convert`) before the next is fetched; tuples
    become columns in one C loop (a Python transpose of millions of tuples took seconds)."""
    connection = await (await session.connection()).get_raw_connection()
    cursor = await connection.driver_connection.execute(sql, params)  # type: ignore[union-attr]
    parts = []
    try:
        while rows := await cursor.fetchmany(CHUNK):
            parts.append(convert(pd.DataFrame.from_records(rows, columns=columns, coerce_float=False)))
    finally:
        await cursor.close()
    if not parts:
        return convert(pd.DataFrame({name: pd.Series(dtype=object) for name in columns}))
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


DETAILS = ["id", "source", "user_id", "reason_code", "machine", "scrap"]


async def month_frames(session: AsyncSession, start: datetime, end: datetime, now: datetime, *,
                       output: Mapping[str, str] | None = None) -> tuple[KpiFrames, pd.DataFrame | None]:
    """What load_frames returns for [start, end) (an open interval ends at `now`), and on SQLite the same reports'
    id, source, member and scrap reason (the review's adoption and scrap Pareto need no second pass over them)."""
    if session.get_bind().dialect.name != "sqlite":
        return await load_frames(session, start, end, now, output=output), None
    machines = await query_frame(session, select(Machine.code, Line.code, Machine.ideal_cycle_time_s, Machine.id)
                                 .join(Line, Machine.line_id == Line.id).order_by(Machine.code),
                                 ["machine", "line", "ideal_cycle_time_s", "id"])
    code_of = dict(zip(machines.pop("id").tolist(), machines["machine"].tolist(), strict=True))
    machines["output"] = [(output or {}).get(code, "reports") for code in machines["machine"]]
    counted = [code for code, source in zip(machines["machine"], machines["output"], strict=True)
               if source in COUNTED]
    def state_columns(raw: pd.DataFrame) -> pd.DataFrame:
        return raw.assign(machine=raw["machine"].map(code_of).astype(object), start=parsed(raw["start"]),
                          end=parsed(raw["end"]))

    states = await _frame(session, STATES_SQL, (stored(end), stored(start)),
                          ["machine", "state", "start", "end", "reason"], state_columns)
    states["end"] = states["end"].fillna(pd.Timestamp(now)).clip(lower=states["start"])
    def report_columns(raw: pd.DataFrame) -> pd.DataFrame:
        for name in ("good", "scrap", "id", "user_id"):  # numbers as numbers at once: boxed ints cost memory
            raw[name] = raw[name].astype("int64")
        raw["reported_at"] = parsed(raw["reported_at"])
        return raw

    raw = await _frame(session, REPORTS_SQL, (ReportStatus.CONFIRMED.value, stored(start), stored(end)),
                       ["reported_at", "machine", "good", "scrap", "work_order", "id", "source", "user_id",
                        "reason_code"], report_columns)
    details = raw[DETAILS]
    reports = raw[["reported_at", "machine", "good", "scrap", "work_order"]]
    del raw
    orders = await query_frame(session, select(WorkOrder.code, WorkOrder.quantity, WorkOrder.due_at,
                                               WorkOrder.completed_at, Line.code)
                               .outerjoin(Line, WorkOrder.line_id == Line.id)
                               .where(and_(WorkOrder.due_at >= start, WorkOrder.due_at < end)),
                               ["work_order", "quantity", "due", "completed_at", "line"])
    for name in ("due", "completed_at"):
        orders[name] = pd.to_datetime(orders[name], utc=True)
    orders["line"] = orders["line"].where(orders["line"].isin(machines["line"]), None)
    alerts = await query_frame(session, select(Machine.code, DowntimeAlert.down_start, DowntimeAlert.acknowledged_at,
                                               DowntimeAlert.fixed_at)
                               .join(Machine, DowntimeAlert.machine_id == Machine.id)
                               .where(DowntimeAlert.down_start >= start, DowntimeAlert.down_start < end),
                               ["machine", "down_start", "acknowledged_at", "fixed_at"])
    for name in ("down_start", "acknowledged_at", "fixed_at"):
        alerts[name] = pd.to_datetime(alerts[name], utc=True)
    counts = await load_counts(session, counted, start, end)
    return KpiFrames(machines, states, reports, orders, alerts, counts), details
