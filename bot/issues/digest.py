"""The weekly digest for PMs: the last full plant week against the one before, a burn-up chart, the oldest open
issues, per-owner and per-category tables. Every figure is one aggregate query (sums of CASE over the indexed
columns), so 20,000 issues cost a few queries, not a scan per number.

Definitions (docs/issues.md says them in words), for a week [start, end) in plant time, as the database knows
it when the digest is made:
  new      created_at in [start, end)
  closed   status 已关闭 and closed_at in [start, end) (已驳回 is not a fix, so not counted)
  open     created before end and, at end, not yet closed or rejected: status open now, or closed_at >= end
  overdue  open at end and due before the first day after the week
  changed  an issue_events row (creation, status, owner, due, comment, photo, escalation) in the week; a week
           without one sends nothing
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.issues.listing import IssueFilter, ListRow, list_page
from bot.models import User
from bot.models.issues import OPEN_STATUSES, Issue, IssueEvent, IssueStatus
from bot.plant_calendar import PlantCalendar

TREND_WEEKS = 8
OLDEST = 10
_DONE = (IssueStatus.CLOSED.value, IssueStatus.REJECTED.value)


@dataclass(frozen=True)
class Week:
    monday: date
    start: datetime
    end: datetime

    @property
    def after(self) -> date:
        return self.monday + timedelta(days=7)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def iso(self) -> str:
        year, week, _ = self.monday.isocalendar()
        return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class Counts:
    new: int = 0
    closed: int = 0
    open: int = 0
    overdue: int = 0


@dataclass
class Digest:
    week: Week
    this: Counts
    last: Counts
    changes: int
    trend: list[tuple[date, int, int, int]] = field(default_factory=list)  # (week's Sunday, created, closed, open)
    oldest: list[ListRow] = field(default_factory=list)
    owners: list[dict[str, Any]] = field(default_factory=list)
    categories: list[dict[str, Any]] = field(default_factory=list)


def week_of(calendar: PlantCalendar, day: date) -> Week:
    start, end = calendar.week_bounds(day)
    return Week(day - timedelta(days=day.weekday()), start, end)


def reported_week(calendar: PlantCalendar, now: datetime) -> Week:
    """The last full plant week before `now` (on Monday morning: the week that ended last night)."""
    return week_of(calendar, calendar.day_of(now) - timedelta(days=7))


def _sum(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _open_at(end: datetime) -> ColumnElement[bool]:
    return and_(Issue.created_at < end, or_(Issue.status.in_([str(s) for s in OPEN_STATUSES]),
                                            and_(Issue.status.in_(_DONE), Issue.closed_at >= end)))


def _conditions(week: Week) -> dict[str, ColumnElement[bool]]:
    return {
        "new": and_(Issue.created_at >= week.start, Issue.created_at < week.end),
        "closed": and_(Issue.status == IssueStatus.CLOSED.value, Issue.closed_at >= week.start,
                       Issue.closed_at < week.end),
        "open": _open_at(week.end),
        "overdue": and_(_open_at(week.end), Issue.due_on < week.after),
    }


async def week_counts(session: AsyncSession, week: Week) -> Counts:
    conditions = _conditions(week)
    row = (await session.execute(select(*(_sum(c) for c in conditions.values())).select_from(Issue))).one()
    return Counts(*(int(v) for v in row))


async def changes_in(session: AsyncSession, week: Week) -> int:
    return int(await session.scalar(select(func.count()).select_from(IssueEvent).where(
        IssueEvent.at >= week.start, IssueEvent.at < week.end)) or 0)


async def _trend(session: AsyncSession, calendar: PlantCalendar, week: Week) -> list[tuple[date, int, int, int]]:
    weeks = [week_of(calendar, week.monday - timedelta(weeks=back)) for back in range(TREND_WEEKS - 1, -1, -1)]
    columns = []
    for w in weeks:
        columns += [_sum(Issue.created_at < w.end),
                    _sum(and_(Issue.status == IssueStatus.CLOSED.value, Issue.closed_at < w.end)),
                    _sum(_open_at(w.end))]
    row = (await session.execute(select(*columns).select_from(Issue))).one()
    return [(w.after - timedelta(days=1), int(row[3 * i]), int(row[3 * i + 1]), int(row[3 * i + 2]))
            for i, w in enumerate(weeks)]


async def _grouped(session: AsyncSession, week: Week, key: Any, *extra: Any) -> list[Any]:
    conditions = _conditions(week)
    query = (select(key, *extra, *(_sum(c).label(name) for name, c in conditions.items())).select_from(Issue)
             .group_by(key, *extra))
    return list((await session.execute(query)).all())


async def build_digest(session: AsyncSession, calendar: PlantCalendar, week: Week) -> Digest:
    digest = Digest(week, await week_counts(session, week),
                    await week_counts(session, week_of(calendar, week.monday - timedelta(days=7))),
                    await changes_in(session, week))
    if not digest.changes:
        return digest
    digest.trend = await _trend(session, calendar, week)
    digest.oldest = [r for r in (await list_page(session, IssueFilter(status="open", sort="old"), week.after,
                                                 size=OLDEST)).rows]
    names = {u.id: (u.name or u.wecom_userid) for u in await session.scalars(select(User))}
    owners = [dict(zip(("owner_id", "new", "closed", "open", "overdue"), row, strict=True))
              for row in await _grouped(session, week, Issue.owner_id)]
    digest.owners = sorted(({**o, "name": names.get(o["owner_id"] or 0, "未指定")} for o in owners
                            if o["open"] or o["closed"] or o["new"]),
                           key=lambda o: (-o["overdue"], -o["open"], o["name"]))
    categories = [dict(zip(("category", "new", "closed", "open", "overdue"), row, strict=True))
                  for row in await _grouped(session, week, Issue.category)]
    digest.categories = sorted((c for c in categories if c["open"] or c["closed"] or c["new"]),
                               key=lambda c: (-c["open"], c["category"]))
    return digest
