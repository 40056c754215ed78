"""The review's people side for a scope and month: issues (the digest's definitions), patrols (the patrols'
figures), training completion by role (the training matrix) and adoption of the reports (source, active
users by role, corrections)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.issues.listing import IssueFilter, ListRow, list_page
from bot.kpi.summed import ReportFacts, by_source, reporters, scan
from bot.models import Machine, Operation, User
from bot.models.issues import OPEN_STATUSES, Issue, IssueStatus
from bot.models.reports import ChangeKind, ChangeStatus, ReportChange, ReportStatus, WorkReport
from bot.patrols.figures import Figures as PatrolFigures
from bot.patrols.figures import figures as patrol_figures
from bot.settings import Settings
from bot.training.catalog import load_catalog
from bot.training.figures import Tally, matrix, tallies

OLDEST = 5
_DONE = (IssueStatus.CLOSED.value, IssueStatus.REJECTED.value)


@dataclass(frozen=True)
class IssueCounts:
    opened: int
    closed: int
    open_at_end: int
    overdue_at_end: int
    oldest: list[ListRow] = field(default_factory=list)


@dataclass
class Adoption:
    reports: int = 0
    by_source: dict[str, int] = field(default_factory=dict)  # chat (manual) / h5 (scan) / import
    active_by_role: dict[str, int] = field(default_factory=dict)
    corrections: int = 0
    rejections: int = 0

    def share(self, source: str) -> float | None:
        return self.by_source.get(source, 0) / self.reports if self.reports else None

    @property
    def correction_rate(self) -> float | None:
        return self.corrections / self.reports if self.reports else None


def _sum(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _open_at(end: datetime) -> Any:
    return and_(Issue.created_at < end, or_(Issue.status.in_([str(s) for s in OPEN_STATUSES]),
                                            and_(Issue.status.in_(_DONE), Issue.closed_at >= end)))


async def issue_counts(session: AsyncSession, start: datetime, end: datetime, after: date, *,
                       line_id: int | None) -> IssueCounts:
    """opened: created in the month; closed: 已关闭 in the month; open/overdue: at the month's end (overdue:
    due before the first day after the month) — the weekly digest's definitions over a month."""
    open_at = _open_at(end)
    query = select(_sum(and_(Issue.created_at >= start, Issue.created_at < end)),
                   _sum(and_(Issue.status == IssueStatus.CLOSED.value, Issue.closed_at >= start,
                             Issue.closed_at < end)),
                   _sum(open_at), _sum(and_(open_at, Issue.due_on < after))).select_from(Issue)
    if line_id is not None:
        query = query.where(Issue.line_id == line_id)
    opened, closed, still_open, overdue = (int(v) for v in (await session.execute(query)).one())
    page = await list_page(session, IssueFilter(status="open", sort="old", line_id=line_id), after, size=OLDEST)
    return IssueCounts(opened, closed, still_open, overdue, list(page.rows))


async def patrols(session: AsyncSession, start: datetime, end: datetime, *,
                  line_id: int | None) -> PatrolFigures:
    total, _ = await patrol_figures(session, start, end, by="line", line_id=line_id)
    return total


async def training(session: AsyncSession, settings: Settings, line_code: str | None) -> list[Tally]:
    """Completion by role as it stands now (training has no month: it is the state the meeting sees)."""
    config = settings.feature("training")
    catalog = load_catalog(config.catalog_path, config.media_path)
    return tallies(await matrix(session, catalog, config, line_code), "role")


def _scoped(query: Any, start: datetime, end: datetime, line_id: int | None, dialect: str) -> Any:
    """Confirmed reports created in [start, end), attributed to machines as the KPI engine does (joins, no IN
    over a subquery: at a million reports that was the review's slowest query; the month is most of the table, so
    SQLite reads it in storage order, see `scan`)."""
    machine_id = func.coalesce(WorkReport.machine_id, Operation.machine_id)
    created = scan(WorkReport.created_at, dialect)
    query = (query.join(Operation, WorkReport.operation_id == Operation.id).join(Machine, Machine.id == machine_id)
             .where(WorkReport.status == ReportStatus.CONFIRMED.value, created >= start, created < end))
    return query.where(Machine.line_id == line_id) if line_id is not None else query


async def adoption(session: AsyncSession, start: datetime, end: datetime, *, line_id: int | None,
                   facts: ReportFacts | None = None) -> Adoption:
    """Reports confirmed in the month (attributed to machines as the KPI engine does), by source; members who
    reported, by role; corrections and rejected changes asked for on those reports. `facts`: those reports already
    grouped (bot.kpi.summed.load_window), so they are not read a second time."""
    result = Adoption()
    dialect = session.get_bind().dialect.name
    members: set[int] = set()
    if facts is not None:
        result.by_source, members = by_source(facts), reporters(facts)
    else:
        rows = await session.execute(_scoped(select(WorkReport.source, WorkReport.user_id, func.count())
                                             .select_from(WorkReport), start, end, line_id, dialect)
                                     .group_by(WorkReport.source, WorkReport.user_id))
        for source, user_id, n in rows:
            result.by_source[source] = result.by_source.get(source, 0) + int(n)
            members.add(user_id)
    result.reports = sum(result.by_source.values())
    for user in await session.scalars(select(User).where(User.id.in_(members))) if members else []:
        for role in user.roles or ["-"]:
            result.active_by_role[role] = result.active_by_role.get(role, 0) + 1
    # from the (few) change requests to their reports, one look-up each, never a pass over the month's reports
    in_scope = _scoped(select(WorkReport.id).where(WorkReport.id == ReportChange.report_id), start, end, line_id,
                       dialect).exists()
    changes = await session.execute(select(_sum(ReportChange.kind == ChangeKind.CORRECTION.value),
                                           _sum(ReportChange.status == ChangeStatus.REJECTED.value))
                                    .select_from(ReportChange).where(in_scope))
    corrections, rejections = changes.one()
    result.corrections, result.rejections = int(corrections), int(rejections)
    return result
