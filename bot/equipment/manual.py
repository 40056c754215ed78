"""报修 by hand: a member calls maintenance to a machine the PLC does not report as down (or that has no PLC).

The call is the same downtime alert a machine stop raises (same cards, escalation and 接单/已修复), with
`source = "manual"` and who called. It belongs to the machine's open state interval; a machine nobody collects
has none, so the call opens a `manual` down interval that the fix closes (then the down time is real data).
"""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.equipment.andon import ACTIVE, AlertView, AndonRefused, view_of
from bot.equipment.cards import Notifier
from bot.models import Machine, User
from bot.models.equipment import AlertStatus, DowntimeAlert, MachineState, MachineStateKind, StateSource

MANUAL = "manual"


async def active_alert(session: AsyncSession, machine_code: str) -> DowntimeAlert | None:
    """The machine's open or taken alert (the newest, should debounce ever have left two)."""
    return await session.scalar(
        select(DowntimeAlert).join(Machine, Machine.id == DowntimeAlert.machine_id)
        .where(Machine.code == machine_code, DowntimeAlert.status.in_(ACTIVE))
        .order_by(DowntimeAlert.raised_at.desc()).limit(1))


async def alert_to_take(session: AsyncSession, machine_code: str) -> int:
    """`接单 L1-M1`: the machine's alert waiting for someone (a taken one is refused by andon.acknowledge)."""
    alert = await active_alert(session, machine_code)
    if alert is None:
        raise AndonRefused("no_active_alert", by=machine_code)
    return alert.id


async def raise_manual(session: AsyncSession, notifier: Notifier, machine_code: str, user: User,
                       now: datetime) -> tuple[AlertView, bool]:
    """Calls maintenance to the machine; returns (the alert, raised now). An alert already active is the call:
    a second 报修 tells the caller about it instead of sending maintenance a second card."""
    machine = await session.scalar(select(Machine).where(Machine.code == machine_code))
    if machine is None:
        raise AndonRefused("unknown_machine", by=machine_code)
    current = await active_alert(session, machine_code)
    if current is not None:
        return await view_of(session, current), False
    state = await session.scalar(select(MachineState).where(
        MachineState.machine_id == machine.id, MachineState.end_at.is_(None)).order_by(MachineState.start_at.desc())
        .limit(1))
    if state is None:
        state = MachineState(machine_id=machine.id, state=MachineStateKind.DOWN, start_at=now,
                             source=StateSource.MANUAL)
        session.add(state)
        await session.flush()
    alert = DowntimeAlert(machine_id=machine.id, state_id=state.id, down_start=now, raised_at=now,
                          status=AlertStatus.OPEN, escalation_level=0, source=MANUAL, raised_by=user.id,
                          task_id=f"eqcall-{machine.id}-{int(now.timestamp())}-{secrets.token_hex(3)}")
    session.add(alert)
    await session.flush()
    view = await view_of(session, alert)
    await notifier.alert(session, view, level=0, now=now)
    return view, True


async def end_manual_downtime(session: AsyncSession, alert: DowntimeAlert, now: datetime) -> None:
    """The fix ends the down interval a 报修 opened (a collected machine's intervals are the collector's)."""
    state = await session.get(MachineState, alert.state_id)
    if alert.source == MANUAL and state is not None and state.source == StateSource.MANUAL and state.end_at is None:
        state.end_at = max(now, state.start_at)
