"""The issue list as PMs filter and sort it (H5 list, export): one SQL query per page with the people, line and
machine joined in, so a page over 20,000 issues costs two indexed queries (the rows and the count), never N+1."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.models import Line, Machine, User
from bot.models.issues import OPEN_STATUSES, Issue

PAGE_SIZE = 50
Owner, Verifier, Reporter = aliased(User, name="owner"), aliased(User, name="verifier"), aliased(User, name="reporter")
# Each sort is a total order (the id breaks ties), so pages never repeat or skip a row.
SORTS: dict[str, tuple[Any, ...]] = {
    "due": (Issue.due_on, Issue.id),  # every issue gets a due day when opened (or imported)
    "new": (Issue.created_at.desc(), Issue.id.desc()),
    "old": (Issue.created_at, Issue.id),
    "updated": (Issue.updated_at.desc(), Issue.id.desc()),
    "priority": (case({"high": 0, "medium": 1, "low": 2}, value=Issue.priority, else_=3), Issue.due_on, Issue.id),
}
STATUS_GROUPS = {"open": tuple(str(s) for s in OPEN_STATUSES), "done": ("closed", "rejected")}


@dataclass(frozen=True)
class IssueFilter:
    """What a list shows: `status` is one status or a group (open, done; "" for all); `overdue` keeps open
    issues whose due day is before `today`."""

    status: str = "open"
    owner_id: int | None = None
    line_id: int | None = None
    category: str = ""
    overdue: bool = False
    sort: str = "due"

    def where(self, query: Select[Any], today: date) -> Select[Any]:
        statuses = STATUS_GROUPS.get(self.status, (self.status,) if self.status else ())
        if statuses:
            query = query.where(Issue.status.in_(statuses))
        if self.owner_id is not None:
            query = query.where(Issue.owner_id == self.owner_id)
        if self.line_id is not None:
            query = query.where(Issue.line_id == self.line_id)
        if self.category:
            query = query.where(Issue.category == self.category)
        if self.overdue:
            query = query.where(Issue.status.in_(STATUS_GROUPS["open"]), Issue.due_on < today)
        return query


@dataclass(frozen=True)
class ListRow:
    issue: Issue
    owner: str
    owner_userid: str
    verifier: str
    reporter: str
    line: str
    machine: str

    def overdue_days(self, today: date) -> int:
        issue = self.issue
        if issue.due_on is None or issue.status not in STATUS_GROUPS["open"] or issue.due_on >= today:
            return 0
        return (today - issue.due_on).days


@dataclass(frozen=True, slots=True)
class ListItem:
    """One row as the list page shows it, in plain strings: a template reading 50 ORM rows attribute by attribute,
    with a call per label and date, was half of the page's time."""

    number: str
    category: str
    priority: str
    status: str
    title: str
    owner: str
    line: str
    due: str  # MM-DD, "" when not set
    late: int  # days overdue, 0 when not


def list_items(rows: list[ListRow], today: date, status_names: dict[str, str],
               priority_names: dict[str, str]) -> list[ListItem]:
    return [ListItem(r.issue.number, r.issue.category, priority_names.get(r.issue.priority, r.issue.priority),
                     status_names.get(r.issue.status, r.issue.status), r.issue.title, r.owner, r.line,
                     r.issue.due_on.strftime("%m-%d") if r.issue.due_on else "", r.overdue_days(today))
            for r in rows]


@dataclass(frozen=True)
class Page:
    rows: list[ListRow]
    total: int
    page: int
    pages: int


def _rows_query() -> Select[Any]:
    return (select(Issue, func.coalesce(func.nullif(Owner.name, ""), Owner.wecom_userid), Owner.wecom_userid,
                   func.coalesce(func.nullif(Verifier.name, ""), Verifier.wecom_userid),
                   func.coalesce(func.nullif(Reporter.name, ""), Reporter.wecom_userid), Line.code, Machine.code)
            .outerjoin(Owner, Owner.id == Issue.owner_id).outerjoin(Verifier, Verifier.id == Issue.verifier_id)
            .outerjoin(Reporter, Reporter.id == Issue.reporter_id).outerjoin(Line, Line.id == Issue.line_id)
            .outerjoin(Machine, Machine.id == Issue.machine_id))


def _row(values: Any) -> ListRow:
    issue, owner, owner_userid, verifier, reporter, line, machine = values
    return ListRow(issue, owner or "", owner_userid or "", verifier or "", reporter or "", line or "", machine or "")


async def list_page(session: AsyncSession, filters: IssueFilter, today: date, page: int = 1,
                    size: int = PAGE_SIZE) -> Page:
    """The page's ids first (issues alone: filter, sort and offset over the indexes), then those rows with their
    people, line and machine: joining before the sort would join every matching issue, not just the page's."""
    total = int(await session.scalar(filters.where(select(func.count()).select_from(Issue), today)) or 0)
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    order = SORTS.get(filters.sort, SORTS["due"])
    ids = list(await session.scalars(filters.where(select(Issue.id), today).order_by(*order)
                                     .offset((page - 1) * size).limit(size)))
    found = {row.issue.id: row for row in map(_row, (await session.execute(
        _rows_query().where(Issue.id.in_(ids)))).all())} if ids else {}
    return Page([found[i] for i in ids if i in found], total, page, pages)


async def all_rows(session: AsyncSession, filters: IssueFilter, today: date,
                   batch: int = 2000) -> AsyncIterator[ListRow]:
    """Every matching row in id order, fetched in batches keyed on the id (an export of any size streams)."""
    last = 0
    while True:
        query = filters.where(_rows_query(), today).where(Issue.id > last).order_by(Issue.id).limit(batch)
        rows = [_row(values) for values in (await session.execute(query)).all()]
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        last = rows[-1].issue.id
