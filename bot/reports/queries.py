"""Read-only views of reports: a person's day, an export period, a line's shift."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.models import Line, Machine, Operation, User, WorkOrder
from bot.models.reports import ReportChange, ReportStatus, WorkReport
from bot.plant_calendar import PlantCalendar, ShiftSlot
from bot.reports.settings import ReportsSettings


@dataclass(frozen=True)
class ReportRow:
    """One report flattened for lists and exports."""

    id: int
    created_at: datetime
    shift_day: date
    shift_code: str
    shift_name: str
    work_order: str
    seq: int
    operation: str
    machine: str
    line: str
    reporter_userid: str
    reporter_name: str
    good: int
    scrap: int
    reason_code: str
    reason_name: str
    source: str
    status: str
    changes: int


async def report_rows(session: AsyncSession, settings: ReportsSettings, calendar: PlantCalendar, *,
                      start: datetime, end: datetime,
                      user_id: int | None = None, line_id: int | None = None,
                      statuses: tuple[str, ...] | None = (ReportStatus.CONFIRMED,)) -> list[ReportRow]:
    """Reports created in [start, end), oldest first, optionally for one person or line and some statuses."""
    reporter = aliased(User)
    changes = (select(func.count(ReportChange.id)).where(ReportChange.report_id == WorkReport.id)
               .scalar_subquery())
    query = (select(WorkReport, WorkOrder.code, Operation.seq, Operation.name, Machine.code, Line.code,
                    reporter.wecom_userid, reporter.name, changes)
             .join(Operation, Operation.id == WorkReport.operation_id)
             .join(WorkOrder, WorkOrder.id == WorkReport.work_order_id)
             .join(reporter, reporter.id == WorkReport.user_id)
             .outerjoin(Machine, Machine.id == WorkReport.machine_id)
             .outerjoin(Line, Line.id == WorkReport.line_id)
             .where(WorkReport.created_at >= start, WorkReport.created_at < end)
             .order_by(WorkReport.created_at, WorkReport.id))
    if user_id is not None:
        query = query.where(WorkReport.user_id == user_id)
    if line_id is not None:
        query = query.where(WorkReport.line_id == line_id)
    if statuses is not None:
        query = query.where(WorkReport.status.in_(statuses))
    rows = []
    for report, order, seq, op_name, machine, line, userid, name, change_count in await session.execute(query):
        rows.append(ReportRow(
            report.id, report.created_at, report.shift_day, report.shift_code,
            calendar.shift_name(report.shift_code), order, seq, op_name, machine or "", line or "",
            userid, name or userid, report.good, report.scrap, report.reason_code or "",
            settings.reason_name(report.reason_code) if report.reason_code else "", report.source, report.status,
            int(change_count or 0)))
    return rows


@dataclass(frozen=True)
class ShiftSummary:
    line_id: int
    line_code: str
    line_name: str
    slot: ShiftSlot
    rows: list[ReportRow]
    pending: int

    @property
    def good(self) -> int:
        return sum(r.good for r in self.rows)

    @property
    def scrap(self) -> int:
        return sum(r.scrap for r in self.rows)

    def by_order(self) -> list[tuple[str, int, int, int]]:
        """(work order, operation seq, good, scrap) totals."""
        totals: dict[tuple[str, int], list[int]] = {}
        for r in self.rows:
            t = totals.setdefault((r.work_order, r.seq), [0, 0])
            t[0] += r.good
            t[1] += r.scrap
        return [(order, seq, g, s) for (order, seq), (g, s) in sorted(totals.items())]

    def by_reason(self) -> list[tuple[str, int]]:
        totals: dict[str, int] = {}
        for r in self.rows:
            if r.scrap:
                totals[r.reason_name] = totals.get(r.reason_name, 0) + r.scrap
        return sorted(totals.items(), key=lambda kv: -kv[1])


async def shift_summary(session: AsyncSession, settings: ReportsSettings, calendar: PlantCalendar, line: Line,
                        slot: ShiftSlot) -> ShiftSummary:
    """The confirmed reports of one line in one shift, plus how many still wait for approval."""
    by_shift = (WorkReport.shift_day == slot.day) & (WorkReport.shift_code == slot.code)
    rows = [r for r in await report_rows(session, settings, calendar, start=slot.start - timedelta(days=2),
                                         end=slot.end + timedelta(days=1), line_id=line.id)
            if r.shift_day == slot.day and r.shift_code == slot.code]
    pending = await session.scalar(select(func.count(WorkReport.id)).where(
        by_shift, WorkReport.line_id == line.id, WorkReport.status == ReportStatus.PENDING))
    return ShiftSummary(line.id, line.code, line.name, slot, rows, int(pending or 0))
