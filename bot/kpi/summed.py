"""The KPI inputs of a whole window (one period: a month's review column, a KPI page for a day or a month), with
the database adding up what the engine would only add up.

At plant scale a month is millions of state intervals and reports, and turning them into Python rows costs far
more than the engine's arithmetic on them (docs/benchmarks.md, "Monthly review"). For a one-period call the engine
needs of most rows only their sums, so the database returns:

- time per (machine, state) inside the window for every closed, non-empty interval that is not `down`
  (`state_time`, exact to the microsecond); the engine adds it to the period's seconds;
- every other interval as a row (down intervals, whose contiguous runs make one event and whose length decides
  a micro-stop; open and empty ones, so that nothing about adjacency changes);
- reports grouped by (machine, work order, scrap reason, source) with their sums, first instant and members:
  the engine's sums and order attribution are the same for one period, and the review's scrap Pareto and
  adoption read the same groups instead of a second pass over the reports.

What is lost: overlap checks between summed intervals (the collectors write them back to back; a raw load still
checks). Multi-period calls (shifts, days of a week) keep `bot.kpi.data.load_frames`."""
from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import (
    BigInteger,
    Select,
    and_,
    cast,
    distinct,
    extract,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bot.db import UtcDateTime
from bot.kpi.data import COUNTED, KpiFrames, load_alerts, load_counts, load_machines, load_orders
from bot.kpi.inputs import STATES
from bot.models import Machine, Operation, WorkOrder
from bot.models.equipment import MachineState
from bot.models.reports import ReportStatus, WorkReport
from bot.parallel_reads import fetch_all

SUMMED_STATES = tuple(state for state in STATES if state != "down")
REPORT_FACTS = ["machine", "work_order", "reason_code", "source", "reported_at", "good", "scrap", "reports"]


@dataclass
class WindowInputs:
    """The engine's frames for one window (`state_time` filled) and the reports' groups they were made from."""

    frames: KpiFrames
    facts: ReportFacts


@dataclass(frozen=True)
class ReportFacts:
    """The window's confirmed reports in groups: what the review's scrap Pareto and adoption read."""

    groups: pd.DataFrame  # REPORT_FACTS: one row per (machine, work order, scrap reason, source)
    members: pd.DataFrame  # machine, user_id: who reported on which machine, once each

    def on_machines(self, codes: pd.Series | list[str]) -> ReportFacts:
        return ReportFacts(self.groups[self.groups["machine"].isin(codes)],
                           self.members[self.members["machine"].isin(codes)])


def _epoch_us(value: ColumnElement, dialect: str) -> ColumnElement:
    """Microseconds since 1970 of a stored instant, exactly (SQLite keeps `YYYY-MM-DD HH:MM:SS.ffffff` text, and
    its date functions round to milliseconds, so the microseconds are read off the text)."""
    if dialect == "sqlite":
        seconds = (func.unixepoch(value) if sqlite3.sqlite_version_info >= (3, 38)  # twice as fast as strftime
                   else cast(func.strftime("%s", value), BigInteger))
        return seconds * 1_000_000 + cast(func.substr(value, 21, 6), BigInteger)
    return cast(extract("epoch", value) * 1_000_000, BigInteger)


def _earlier(a: ColumnElement, b: ColumnElement, dialect: str) -> ColumnElement:
    return func.min(a, b) if dialect == "sqlite" else func.least(a, b)


def _later(a: ColumnElement, b: ColumnElement, dialect: str) -> ColumnElement:
    return func.max(a, b) if dialect == "sqlite" else func.greatest(a, b)


def scan(column: ColumnElement, dialect: str) -> ColumnElement:
    """The column with its indexes put out of play on SQLite (`+x` is x): a whole month is most of the table, best
    read in storage order, where an index on the column would fetch every row in its order, one seek each (2-3x
    slower at a million reports); a planner with statistics (PostgreSQL) chooses for itself."""
    if dialect != "sqlite":
        return column
    return literal_column(f"+{column.table.name}.{column.name}", type_=column.type)  # type: ignore[attr-defined]


async def load_window(session: AsyncSession, start: datetime, end: datetime, now: datetime, *,
                      output: Mapping[str, str] | None = None) -> WindowInputs:
    """What `load_frames` gives for [start, end) (an open interval ends at `now`), with time summed and reports
    grouped: for `compute_kpis(..., every=None, state_time=frames.state_time)` only."""
    dialect = session.get_bind().dialect.name
    machines, ids = await load_machines(session, output)
    code_of = dict(zip(ids, machines["machine"].tolist(), strict=True))
    counted = [code for code, source in zip(machines["machine"], machines["output"], strict=True)
               if source in COUNTED]
    queries = [_facts_query(start, end, dialect), _state_time_query(start, end, dialect),
               _state_rows_query(start, end, dialect)]  # the longest first
    if dialect != "sqlite":
        queries.append(_members_query(start, end, dialect))
    facts_rows, time_rows, state_rows, *member_rows = await fetch_all(session, queries)
    facts = _facts(facts_rows, member_rows[0] if member_rows else None)
    reports = (facts.groups.groupby(["machine", "work_order"], sort=False, as_index=False)
               .agg(reported_at=("reported_at", "min"), good=("good", "sum"), scrap=("scrap", "sum"))
               [["reported_at", "machine", "good", "scrap", "work_order"]])
    frames = KpiFrames(machines, _states_frame(state_rows, code_of, now), reports,
                       await load_orders(session, start, end, machines), await load_alerts(session, start, end),
                       await load_counts(session, counted, start, end),
                       state_time=_state_time_frame(time_rows, code_of))
    return WindowInputs(frames, facts)


def _summable(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(MachineState.start_at < end, MachineState.end_at > start, MachineState.end_at > MachineState.start_at,
                MachineState.state != "down")


def _state_time_query(start: datetime, end: datetime, dialect: str) -> Select:
    """One aggregate per machine, one column per state (a GROUP BY on the state too sorts every row)."""
    lower, upper = literal(start, UtcDateTime()), literal(end, UtcDateTime())
    inside = (_epoch_us(_earlier(MachineState.end_at, upper, dialect), dialect)
              - _epoch_us(_later(MachineState.start_at, lower, dialect), dialect))
    columns = [func.sum(inside).filter(MachineState.state == state) for state in SUMMED_STATES]
    return select(MachineState.machine_id, *columns).where(_summable(start, end)).group_by(MachineState.machine_id)


def _state_time_frame(rows: list[tuple], code_of: dict[int, str]) -> pd.DataFrame:
    out = [(code_of[machine_id], state, int(micros) / 1e6) for machine_id, *sums in rows if machine_id in code_of
           for state, micros in zip(SUMMED_STATES, sums, strict=True) if micros]
    return pd.DataFrame(out, columns=["machine", "state", "seconds"])


def _state_rows_query(start: datetime, end: datetime, dialect: str) -> Select:
    """The intervals the engine must see one by one: the complement of `_summable` among those overlapping."""
    return (select(MachineState.machine_id, MachineState.state, _epoch_us(MachineState.start_at, dialect),
                   _epoch_us(MachineState.end_at, dialect), MachineState.reason_code)
            .where(MachineState.start_at < end, or_(MachineState.end_at.is_(None), MachineState.end_at > start),
                   or_(MachineState.state == "down", MachineState.end_at.is_(None),
                       MachineState.end_at <= MachineState.start_at))
            .order_by(MachineState.machine_id, MachineState.start_at, MachineState.end_at))


def _states_frame(rows: list[tuple], code_of: dict[int, str], now: datetime) -> pd.DataFrame:
    raw = pd.DataFrame.from_records(rows, columns=["id", "state", "start", "end", "reason"], coerce_float=False)
    raw = raw[raw["id"].isin(code_of)]
    states = pd.DataFrame({
        "machine": raw["id"].map(code_of).astype(object),
        "state": raw["state"].astype(object),
        "start": pd.to_datetime(raw["start"].astype("int64"), unit="us", utc=True),
        "end": pd.to_datetime(raw["end"].astype("Int64"), unit="us", utc=True),
        "reason": raw["reason"].astype(object).where(raw["reason"].notna(), None),
    }).reset_index(drop=True)
    states["end"] = states["end"].fillna(pd.Timestamp(now)).clip(lower=states["start"])
    return states


def _confirmed_in(start: datetime, end: datetime, dialect: str) -> ColumnElement[bool]:
    created = scan(WorkReport.created_at, dialect)
    return and_(WorkReport.status == ReportStatus.CONFIRMED.value, created >= start, created < end)


def _facts_query(start: datetime, end: datetime, dialect: str) -> Select:
    """Confirmed reports created in the window, grouped first on the report's own columns (one pass, no join per
    row), then attributed to machines as the engine's loader does (the report's machine, else its operation's).
    On SQLite each group also lists its members (`group_concat(DISTINCT)`: cheaper than a second pass); on
    PostgreSQL a DISTINCT aggregate would force a sort of every report, so `_members_query` runs beside it."""
    operation = scan(WorkReport.operation_id, dialect)
    users = [func.group_concat(distinct(WorkReport.user_id)).label("users")] if dialect == "sqlite" else []
    groups = (select(operation.label("operation_id"), WorkReport.machine_id, WorkReport.work_order_id,
                     WorkReport.reason_code, WorkReport.source, func.min(WorkReport.created_at).label("first"),
                     func.sum(WorkReport.good).label("good"), func.sum(WorkReport.scrap).label("scrap"),
                     func.count().label("reports"), *users)
              .where(_confirmed_in(start, end, dialect))
              .group_by(operation, WorkReport.machine_id, WorkReport.work_order_id,
                        WorkReport.reason_code, WorkReport.source).subquery())
    return (select(Machine.code, WorkOrder.code, groups.c.reason_code, groups.c.source,
                   _epoch_us(groups.c.first, dialect), groups.c.good, groups.c.scrap, groups.c.reports,
                   *([groups.c.users] if users else []))
            .select_from(groups).join(Operation, groups.c.operation_id == Operation.id)
            .join(Machine, Machine.id == func.coalesce(groups.c.machine_id, Operation.machine_id))
            .join(WorkOrder, groups.c.work_order_id == WorkOrder.id))


def _members_query(start: datetime, end: datetime, dialect: str) -> Select:
    """(machine, member) pairs of the window's confirmed reports (a hash aggregate, no sort)."""
    return (select(Machine.code, WorkReport.user_id).distinct()
            .select_from(WorkReport).join(Operation, WorkReport.operation_id == Operation.id)
            .join(Machine, Machine.id == func.coalesce(WorkReport.machine_id, Operation.machine_id))
            .join(WorkOrder, WorkReport.work_order_id == WorkOrder.id)
            .where(_confirmed_in(start, end, dialect)))


def _facts(rows: list[tuple], member_rows: list[tuple] | None) -> ReportFacts:
    columns = REPORT_FACTS + (["users"] if member_rows is None else [])
    facts = pd.DataFrame.from_records(rows, columns=columns, coerce_float=False)
    facts["reported_at"] = pd.to_datetime(facts["reported_at"].astype("int64"), unit="us", utc=True)
    for name in ("good", "scrap", "reports"):
        facts[name] = facts[name].astype("int64")
    for name in ("machine", "work_order", "reason_code", "source"):
        facts[name] = facts[name].astype(object).where(facts[name].notna(), None)
    if member_rows is None:
        member_rows = [(machine, int(user)) for machine, text in zip(facts["machine"], facts.pop("users"), strict=True)
                       if text for user in str(text).split(",")]
    members = pd.DataFrame(member_rows, columns=["machine", "user_id"]).drop_duplicates(ignore_index=True)
    return ReportFacts(facts[REPORT_FACTS], members)


def reporters(facts: ReportFacts) -> set[int]:
    """The members who made any of these reports."""
    return {int(user) for user in facts.members["user_id"].unique()}


def scrap_pieces(facts: ReportFacts) -> dict[str, float]:
    """Pieces per scrap reason ("" without one); a reason whose reports scrapped nothing is not a bar."""
    groups = facts.groups
    totals = groups["scrap"].groupby(groups["reason_code"].fillna("").astype(str).to_numpy()).sum()
    return {str(code): float(pieces) for code, pieces in totals.items() if pieces > 0}


def by_source(facts: ReportFacts) -> dict[str, int]:
    return {str(source): int(n) for source, n in facts.groups.groupby("source")["reports"].sum().items() if n}

