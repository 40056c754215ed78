"""The issue list as a spreadsheet (`opsbot export issues`, the weekly digest's attachment): the same columns
the import reads back, written through bot.tabular so a title such as `=HYPERLINK(…)` stays text."""
from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot import tabular
from bot.issues.listing import IssueFilter, ListRow, all_rows
from bot.templates import CONTENT_DIR


@lru_cache(maxsize=4)
def export_names(content_dir: Path = CONTENT_DIR) -> dict[str, Any]:
    """Headers and value names (content/templates/issues/export.toml), shared with the import."""
    return tomllib.loads((content_dir / "templates" / "issues" / "export.toml").read_text(encoding="utf-8"))


def row_cells(row: ListRow, tz: ZoneInfo, today: date, names: dict[str, Any]) -> list[tabular.Cell]:
    issue = row.issue

    def local(value: Any) -> Any:
        return value.astimezone(tz).replace(microsecond=0, tzinfo=None) if value is not None else None

    return [issue.number, issue.title, issue.description, issue.category,
            names["priority"].get(issue.priority, issue.priority), names["status"].get(issue.status, issue.status),
            row.owner, row.owner_userid, row.verifier, row.reporter, row.line, row.machine, issue.due_on,
            row.overdue_days(today) or None, local(_aware(issue.created_at)), local(_aware(issue.resolved_at)),
            local(_aware(issue.closed_at)), names["source"].get(issue.source, issue.source)]


def _aware(value: Any) -> Any:
    """SQLite hands back naive UTC; PostgreSQL aware: both become aware UTC."""
    from datetime import UTC

    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


async def _cells(session: AsyncSession, filters: IssueFilter, tz: ZoneInfo, today: date,
                 names: dict[str, Any]) -> AsyncIterator[list[tabular.Cell]]:
    async for row in all_rows(session, filters, today):
        yield row_cells(row, tz, today, names)


async def collect(session: AsyncSession, filters: IssueFilter, tz: ZoneInfo, today: date) -> list[list[tabular.Cell]]:
    """The rows to write; a plant's list is thousands of rows, so holding them (not the ORM objects) is fine."""
    names = export_names()
    return [cells async for cells in _cells(session, filters, tz, today, names)]


async def export(session: AsyncSession, path: Path | str, fmt: str, filters: IssueFilter, tz: ZoneInfo,
                 today: date) -> int:
    """Writes the list to `path` as xlsx or csv; the number of issues written."""
    names = export_names()
    rows = await collect(session, filters, tz, today)
    if fmt == "xlsx":
        return tabular.write_xlsx(path, names["columns"], rows, sheet=names["sheet"])
    return tabular.write_csv(path, names["columns"], rows)
