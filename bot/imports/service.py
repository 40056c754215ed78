"""Run one import: read, pre-check every row, then load all accepted rows in one transaction or none."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.imports import history, masters
from bot.imports.context import ImportContext
from bot.imports.parsing import Problems, read_table, require_columns
from bot.reports.settings import ShiftSettings

Check = Callable[[pd.DataFrame, ImportContext, Problems], Awaitable[pd.DataFrame]]
Load = Callable[[pd.DataFrame, ImportContext], Awaitable[int]]


@dataclass(frozen=True)
class Kind:
    required: tuple[str, ...]
    optional: tuple[str, ...]
    check: Check
    load: Load


KINDS: dict[str, Kind] = {
    "machines": Kind(("machine", "name", "line", "ideal_cycle_time_s"), (), masters.check_machines,
                     masters.load_machines),
    "users": Kind(("userid", "name", "roles"), ("line",), masters.check_users, masters.load_users),
    "work-orders": Kind(("work_order", "material", "quantity", "due"), ("released", "completed", "line"),
                        masters.check_work_orders, masters.load_work_orders),
    "reports": Kind(("reported_at", "user", "work_order", "machine", "good", "scrap"), ("operation",),
                    history.check_reports, history.load_reports),
    "machine-states": Kind(("machine", "state", "start", "end"), ("reason",), history.check_states,
                           history.load_states),
}


@dataclass
class ImportSummary:
    """rows_read = rows_loaded + rows_rejected + rows_held_back (accepted rows not loaded: dry run or abort)."""

    kind: str
    file: str
    dry_run: bool
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rows_loaded: int
    rejected: list[tuple[int, str]] = field(default_factory=list)
    aborted: bool = False

    @property
    def rows_held_back(self) -> int:
        return self.rows_read - self.rows_loaded - self.rows_rejected

    @property
    def ok(self) -> bool:
        return not self.aborted


async def run_import(sessions: async_sessionmaker[AsyncSession], kind: str, path: str | Path, *,
                     tz: str, shifts: list[ShiftSettings], plant_name: str, now: datetime,
                     dry_run: bool = False) -> ImportSummary:
    """A rejected row stops the whole load, except rows that are already in the database (a re-import)."""
    spec = KINDS[kind]
    frame = read_table(path)
    require_columns(frame, spec.required, kind)
    for name in spec.optional:
        if name not in frame.columns:
            frame[name] = ""
    frame = frame.reset_index(drop=True)
    problems = Problems(len(frame))
    async with sessions() as session:
        ctx = ImportContext(session, tz, shifts, plant_name, now)
        checked = await spec.check(frame, ctx, problems)
        accepted = checked[~problems.bad]
        aborted = problems.blocking
        loaded = 0
        if not dry_run and not aborted and len(accepted):
            loaded = await spec.load(accepted, ctx)
            await session.commit()
    return ImportSummary(kind, str(path), dry_run, len(frame), len(accepted), len(problems.reasons), loaded,
                         problems.listing(), aborted)
