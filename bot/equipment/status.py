"""Each machine's current state and since when, with its active alert; and the interval export rows."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Line, Machine
from bot.models.equipment import DowntimeAlert, MachineState

ACTIVE = ("open", "acknowledged")


@dataclass(frozen=True)
class StatusRow:
    machine_code: str
    machine_name: str
    line_code: str
    state: str  # a state, or "none" when never collected
    since: datetime | None
    reason: str | None
    alert_status: str | None


@lru_cache(maxsize=4)
def state_names(content_dir: Path) -> dict[str, str]:
    """Chinese names of states and alert statuses, from content/templates/equipment/states.toml."""
    return tomllib.loads((content_dir / "templates" / "equipment" / "states.toml").read_text(encoding="utf-8"))


async def machine_status(session: AsyncSession, line_code: str | None = None,
                         codes: list[str] | None = None) -> list[StatusRow]:
    query = select(Machine, Line.code).join(Line, Line.id == Machine.line_id).order_by(Line.code, Machine.code)
    if line_code:
        query = query.where(Line.code == line_code)
    if codes is not None:
        query = query.where(Machine.code.in_(codes))
    machines = (await session.execute(query)).all()
    ids = [m.id for m, _ in machines]
    opens = {s.machine_id: s for s in await session.scalars(
        select(MachineState).where(MachineState.machine_id.in_(ids), MachineState.end_at.is_(None))
        .order_by(MachineState.start_at))}
    alerts = {a.machine_id: a for a in await session.scalars(
        select(DowntimeAlert).where(DowntimeAlert.machine_id.in_(ids), DowntimeAlert.status.in_(ACTIVE))
        .order_by(DowntimeAlert.raised_at))}
    rows = []
    for machine, line in machines:
        state = opens.get(machine.id)
        alert = alerts.get(machine.id)
        rows.append(StatusRow(machine.code, machine.name, line, state.state if state else "none",
                              state.start_at if state else None, state.reason_code if state else None,
                              alert.status if alert else None))
    return rows


@dataclass(frozen=True)
class IntervalRow:
    machine_code: str
    line_code: str
    state: str
    start_at: datetime
    end_at: datetime
    duration_s: float
    reason_code: str | None
    source: str
    still_open: bool  # the machine is still in this state (end_at is "now")


async def interval_rows(session: AsyncSession, start: datetime, end: datetime, now: datetime) -> list[IntervalRow]:
    """Intervals overlapping [start, end), clipped to it; an open interval runs until `now`."""
    query = (select(MachineState, Machine.code, Line.code).join(Machine, Machine.id == MachineState.machine_id)
             .join(Line, Line.id == Machine.line_id)
             .where(MachineState.start_at < end, (MachineState.end_at.is_(None)) | (MachineState.end_at > start))
             .order_by(Machine.code, MachineState.start_at))
    rows = []
    for state, machine, line in (await session.execute(query)).all():
        begin = max(state.start_at, start)
        finish = min(state.end_at or now, end)
        if finish <= begin:
            continue
        rows.append(IntervalRow(machine, line, state.state, begin, finish, (finish - begin).total_seconds(),
                                state.reason_code, state.source, state.end_at is None and finish == now))
    return rows
