"""Run one import: read the file in chunks, pre-check every row, then load all accepted rows in one
transaction or none."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.imports import history, masters, routings
from bot.imports.context import UPDATE_COLUMN, ImportContext
from bot.imports.parsing import ImportFileError, Problems, require_columns
from bot.imports.reading import CHUNK_ROWS, DEFAULT_MAX_BYTES, open_table
from bot.issues import importing as issues_import
from bot.plant_calendar import ShiftSettings

Check = Callable[[pd.DataFrame, ImportContext, Problems], Awaitable[pd.DataFrame]]
Across = Callable[[pd.DataFrame, ImportContext, Problems], Awaitable[None]]
Load = Callable[[pd.DataFrame, ImportContext], Awaitable[int]]


@dataclass(frozen=True)
class Kind:
    """`check` types one chunk of text rows; `across` then checks what needs the whole file (repeats,
    overlaps, the database) on the typed rows, so the text of a big file is never all in memory. `layout`
    picks another kind by the file's header (a work-orders file with operation columns)."""

    required: tuple[str, ...]
    optional: tuple[str, ...]
    check: Check
    across: Across
    load: Load
    layout: Callable[[list[str]], Kind] | None = None
    aliases: dict[str, str] | None = None  # header -> column name (a 问题清单 with Chinese headers)


ORDER_COLUMNS = ("work_order", "material", "quantity", "due")
ORDERS_WITH_OPERATIONS = Kind(ORDER_COLUMNS + ("seq", "operation"),
                              ("released", "completed", "line", "machine", "planned_quantity"),
                              routings.check_orders_with_operations, routings.orders_with_operations_across,
                              routings.load_orders_with_operations)


def _work_orders_layout(columns: list[str]) -> Kind:
    """A seq column makes it a routing (one row per operation); without one the file is read as before,
    except that operation columns without seq are refused rather than silently ignored."""
    if "seq" in columns:
        return ORDERS_WITH_OPERATIONS
    stray = [name for name in ("operation", "planned_quantity") if name in columns]
    if stray:
        raise ImportFileError(f"work-orders: column(s) {', '.join(stray)} describe operations, but there is no "
                              f"seq column; add seq (the operation's number within its order)")
    return KINDS["work-orders"]


KINDS: dict[str, Kind] = {
    "machines": Kind(("machine", "name", "line", "ideal_cycle_time_s"), (), masters.check_machines,
                     masters.machines_across, masters.load_machines),
    "users": Kind(("userid", "name", "roles"), ("line",), masters.check_users, masters.users_across,
                  masters.load_users),
    "work-orders": Kind(ORDER_COLUMNS, ("released", "completed", "line"), masters.check_work_orders,
                        masters.work_orders_across, masters.load_work_orders, _work_orders_layout),
    "operations": Kind(("work_order", "seq", "operation"), ("machine", "planned_quantity"),
                       routings.check_operations, routings.operations_across, routings.load_operations),
    "reports": Kind(("reported_at", "user", "work_order", "machine", "good", "scrap"), ("operation",),
                    history.check_reports, history.reports_across, history.load_reports),
    "machine-states": Kind(("machine", "state", "start", "end"), ("reason",), history.check_states,
                           history.states_across, history.load_states),
    "issues": Kind(issues_import.REQUIRED, issues_import.OPTIONAL, issues_import.check_issues,
                   issues_import.issues_across, issues_import.load_issues, aliases=issues_import.ALIASES),
}


@dataclass
class ImportSummary:
    """rows_read = rows_loaded + rows_rejected + rows_held_back (accepted rows not loaded: dry run or abort).
    rows_updated: accepted rows that change a row already in the database (loaded, or would be)."""

    kind: str
    file: str
    dry_run: bool
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rows_loaded: int
    rejected: list[tuple[int, str]] = field(default_factory=list)
    aborted: bool = False
    encoding: str = ""
    rows_updated: int = 0

    @property
    def rows_held_back(self) -> int:
        return self.rows_read - self.rows_loaded - self.rows_rejected

    @property
    def ok(self) -> bool:
        return not self.aborted


async def run_import(sessions: async_sessionmaker[AsyncSession], kind: str, path: str | Path, *,
                     tz: str, shifts: list[ShiftSettings], plant_name: str, now: datetime,
                     dry_run: bool = False, max_bytes: int = DEFAULT_MAX_BYTES,
                     chunk_rows: int = CHUNK_ROWS, settings: Any = None) -> ImportSummary:
    """A rejected row stops the whole load, except rows that are already in the database (a re-import)."""
    spec = KINDS[kind]
    table = open_table(path, max_bytes=max_bytes, chunk_rows=chunk_rows)
    if spec.layout is not None:
        spec = spec.layout(table.columns)
    aliases = spec.aliases or {}
    columns = [aliases.get(name, name) for name in table.columns]
    require_columns(columns, spec.required, kind)
    problems = Problems(0)
    async with sessions() as session:
        ctx = ImportContext(session, tz, shifts, plant_name, now, settings)
        parts = []
        for chunk in table.chunks:
            rows = chunk.index.to_numpy()
            chunk = chunk.reset_index(drop=True)
            if aliases:
                chunk.columns = columns
            for name in spec.optional:
                if name not in chunk.columns:
                    chunk[name] = ""
            found = Problems(len(chunk))
            parts.append(await spec.check(chunk, ctx, found))
            problems.extend(found, rows)
        checked = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        del parts
        await spec.across(checked, ctx, problems)
        checked = checked[~problems.bad]  # the accepted rows; the frame of all rows is let go
        aborted = problems.blocking
        updated = int(checked[UPDATE_COLUMN].notna().sum()) if UPDATE_COLUMN in checked.columns else 0
        loaded = 0
        if not dry_run and not aborted and len(checked):
            loaded = await spec.load(checked, ctx)
            await session.commit()
    return ImportSummary(kind, str(path), dry_run, problems.count, len(checked), len(problems.reasons), loaded,
                         problems.listing(), aborted, table.encoding, updated)
