"""Each machine's current state and since when, with its active alert; who collects each endpoint; one machine's
view for its label (with today's figures); and the interval export rows."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.kpi.figures import to_json_records
from bot.kpi.service import kpis_from_db
from bot.models import Line, Machine, User
from bot.models.equipment import DowntimeAlert, MachineState
from bot.models.replicas import CollectorLease
from bot.settings import Settings

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
    alert_taker: str = ""  # who took the active alert (维修中), so 设备状态 says whom to ask and who types 已修复
    alert_taker_userid: str = ""
    alert_id: int | None = None
    alert_source: str | None = None  # machine (a stop) or manual (报修)


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
    takers = {u.id: u for u in await session.scalars(select(User).where(
        User.id.in_([a.acknowledged_by for a in alerts.values() if a.acknowledged_by is not None])))}
    rows = []
    for machine, line in machines:
        state = opens.get(machine.id)
        alert = alerts.get(machine.id)
        taker = takers.get(alert.acknowledged_by) if alert and alert.acknowledged_by else None
        rows.append(StatusRow(machine.code, machine.name, line, state.state if state else "none",
                              state.start_at if state else None, state.reason_code if state else None,
                              alert.status if alert else None, taker.name or taker.wecom_userid if taker else "",
                              taker.wecom_userid if taker else "", alert.id if alert else None,
                              alert.source if alert else None))
    return rows


@dataclass(frozen=True)
class EndpointOwner:
    """Which replica collects an endpoint; `valid` is False once its lease ran out (its owner stopped renewing)."""

    endpoint: str
    owner: str | None
    token: int | None
    renewed_at: datetime | None
    valid: bool


async def endpoint_owners(session: AsyncSession, endpoints: list[str], now: datetime) -> list[EndpointOwner]:
    """Configured endpoints with their lease (a configured endpoint never leased has no owner)."""
    leases = {r.endpoint: r for r in await session.scalars(select(CollectorLease))}
    rows = []
    for name in endpoints:
        lease = leases.get(name)
        rows.append(EndpointOwner(name, lease.owner if lease else None, lease.token if lease else None,
                                  lease.renewed_at if lease else None, bool(lease and lease.expires_at > now)))
    return rows


@dataclass(frozen=True)
class MachineView:
    """What a machine label shows: the status row and today's figures (None before anything was recorded)."""

    status: StatusRow
    today: dict[str, Any] | None


async def machine_view(session: AsyncSession, settings: Settings, code: str, now: datetime) -> MachineView | None:
    """None for a machine not in master data (a label printed for a machine since removed)."""
    rows = await machine_status(session, None, [code])
    if not rows:
        return None
    return MachineView(rows[0], await today_figures(session, settings, code, now))


async def today_figures(session: AsyncSession, settings: Settings, code: str, now: datetime) -> dict[str, Any] | None:
    """The machine's KPI record for the plant-local day so far, as the KPI service computes it for everyone."""
    start, day_end = settings.calendar.day_bounds(settings.calendar.day_of(now))
    end = min(day_end, max(now, start + timedelta(seconds=1)))
    frame = await kpis_from_db(session, settings, start=start, end=end, by="machine", now=now)
    records = to_json_records(frame[frame["machine"] == code]) if len(frame) else []
    return records[0] if records else None


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
