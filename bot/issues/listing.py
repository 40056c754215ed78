"""The issue list as PMs filter and sort it (H5 list, export): the page's rows with the people, line and machine
joined in, never N+1. The H5 page (`item_page`) is one statement: it is served to many PMs from one event loop,
where each statement and each ORM object costs loop time every other request waits for."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, bindparam, case, func, select
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
        return query.where(*self._conditions(self.owner_id, self.line_id, self.category, today))

    def bound_where(self, query: Select[Any]) -> Select[Any]:
        """`where` with the values as bind parameters (`params` fills them): one statement serves every value."""
        return query.where(*self._conditions(bindparam("owner_id"), bindparam("line_id"), bindparam("category"),
                                             bindparam("today")))

    def params(self, today: date) -> dict[str, Any]:
        return {"owner_id": self.owner_id, "line_id": self.line_id, "category": self.category, "today": today}

    @property
    def shape(self) -> tuple[object, ...]:
        """What decides the SQL's text (the values travel as parameters): the key of a prepared page statement."""
        return (self.statuses, self.owner_id is not None, self.line_id is not None, bool(self.category),
                self.overdue, self.order_name)

    @property
    def order_name(self) -> str:
        return self.sort if self.sort in SORTS else "due"

    @property
    def statuses(self) -> tuple[str, ...]:
        return STATUS_GROUPS.get(self.status, (self.status,) if self.status else ())

    def _conditions(self, owner_id: object, line_id: object, category: object,
                    today: object) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.statuses:
            conditions.append(Issue.status.in_(self.statuses))
        if self.owner_id is not None:
            conditions.append(Issue.owner_id == owner_id)
        if self.line_id is not None:
            conditions.append(Issue.line_id == line_id)
        if self.category:
            conditions.append(Issue.category == category)
        if self.overdue:
            conditions += [Issue.status.in_(STATUS_GROUPS["open"]), Issue.due_on < today]
        return conditions


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


@dataclass(frozen=True)
class ItemPage:
    items: list[ListItem]
    total: int
    page: int
    pages: int


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


_OWNER = func.coalesce(func.nullif(Owner.name, ""), Owner.wecom_userid)
_ITEM_STATEMENTS: dict[tuple[object, ...], Select[Any]] = {}  # the H5 list's: 8 statuses x 2^4 filters x 5 sorts
_ITEM_STATEMENTS_MAX = 1024  # other callers' statuses could be anything: past this, built per call


def _item_statement(filters: IssueFilter) -> Select[Any]:
    """One page of the H5 list with its total, in one statement: the page's ids over the issues' indexes (sorted
    and cut before any join), the count as a scalar subquery beside them (a window `count(*) over ()` makes the
    database read every matching row before the LIMIT: 4-17 ms on SQLite, which runs on the event loop, against
    0.3 ms), then only those ids joined to owner and line: plain columns, no ORM objects.

    Built once per filter shape with the values as bind parameters, so a page costs no statement construction
    and hits SQLAlchemy's compiled cache."""
    key = filters.shape
    statement = _ITEM_STATEMENTS.get(key)
    if statement is None:
        order = SORTS[filters.order_name]
        total = filters.bound_where(select(func.count()).select_from(Issue)).correlate(None).scalar_subquery()
        ids = (filters.bound_where(select(Issue.id.label("id"), total.label("total"))).order_by(*order)
               .offset(bindparam("offset", type_=Integer)).limit(bindparam("size", type_=Integer))
               .subquery("page"))
        statement = (
            select(ids.c.total, Issue.number, Issue.category, Issue.priority, Issue.status, Issue.title,
                   Issue.due_on, _OWNER, Line.code)
            .join_from(ids, Issue, Issue.id == ids.c.id).outerjoin(Owner, Owner.id == Issue.owner_id)
            .outerjoin(Line, Line.id == Issue.line_id).order_by(*order))
        if len(_ITEM_STATEMENTS) < _ITEM_STATEMENTS_MAX:
            _ITEM_STATEMENTS[key] = statement
    return statement


async def item_page(session: AsyncSession, filters: IssueFilter, today: date, page: int, size: int,
                    status_names: dict[str, str], priority_names: dict[str, str]) -> ItemPage:
    """The H5 list's page as `ListItem`s, the same rows, order and clamping as `list_page`. A page past the last
    (an old link after issues were closed) returns no row, hence no total: only then is the count asked alone
    and the last page read, as `list_page` shows it."""
    connection = await session.connection()  # Core on the page's transaction: no ORM layer for plain rows
    statement, params = _item_statement(filters), filters.params(today)
    page = max(1, page)
    rows = (await connection.execute(statement, {**params, "offset": (page - 1) * size, "size": size})).all()
    if rows:
        total = int(rows[0][0])
    else:
        total = int(await connection.scalar(filters.where(select(func.count()).select_from(Issue), today)) or 0)
        last = max(1, -(-total // size))
        if page > last:
            page = last
            rows = (await connection.execute(statement, {**params, "offset": (page - 1) * size,
                                                         "size": size})).all() if total else []
    pages = max(1, -(-total // size))
    open_statuses = STATUS_GROUPS["open"]
    items = [ListItem(number, category, priority_names.get(priority, priority), status_names.get(status, status),
                      title, owner or "", line or "", due.strftime("%m-%d") if due else "",
                      (today - due).days if due is not None and status in open_statuses and due < today else 0)
             for _, number, category, priority, status, title, due, owner, line in rows]
    return ItemPage(items, total, page, pages)


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
