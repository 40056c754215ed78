"""Downtime alerts (andon): raise one per down period, take (接单), fix (已修复) with a reason, escalate.

The reason is asked after the fix (by number in chat, or on the card); `reason_at` says maintenance gave it.

Times are stored so MTTR splits into response (raised → acknowledged) and repair (acknowledged → fixed).
Debounce: while an alert of a machine is open or taken, a new down interval joins it; a new alert needs
`min_gap_s` since the previous one; an untaken alert is cancelled once the machine has run `recover_s`.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.equipment.cards import Notifier
from bot.equipment.settings import EquipmentSettings
from bot.models import Line, Machine, User
from bot.models.equipment import AlertStatus, DowntimeAlert, MachineState

ACTIVE = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


class AndonRefused(Exception):
    """A tap that cannot take effect; `code` picks the Chinese explanation template."""

    def __init__(self, code: str, alert: DowntimeAlert | None = None, by: str = "") -> None:
        super().__init__(code)
        self.code, self.alert, self.by = code, alert, by


@dataclass(frozen=True)
class AlertView:
    """Everything a card or a reply shows about an alert."""

    alert: DowntimeAlert
    machine_code: str
    machine_name: str
    line_code: str
    line_name: str
    line_id: int
    caller: str = ""  # who called 报修 (a manual alert); "" for a machine's own stop


async def view_of(session: AsyncSession, alert: DowntimeAlert) -> AlertView:
    machine, line = (await session.execute(
        select(Machine, Line).join(Line, Line.id == Machine.line_id).where(Machine.id == alert.machine_id))).one()
    return AlertView(alert, machine.code, machine.name, line.code, line.name, line.id,
                     await _name(session, alert.raised_by))


async def raise_if_due(session: AsyncSession, settings: EquipmentSettings, notifier: Notifier,
                       state: MachineState, now: datetime) -> tuple[DowntimeAlert | None, bool]:
    """Alert for a down interval past the threshold; returns (new alert, settled: no need to ask again)."""
    if state.state != "down" or now - state.start_at < timedelta(seconds=settings.andon.threshold_s):
        return None, False
    latest = await session.scalar(select(DowntimeAlert).where(DowntimeAlert.machine_id == state.machine_id)
                                  .order_by(DowntimeAlert.raised_at.desc()).limit(1))
    if latest is not None and (latest.state_id == state.id or latest.status in ACTIVE):
        if latest.status in ACTIVE and latest.recovered_at is not None:
            latest.recovered_at = None  # down again: the same incident goes on (and may escalate again)
        return None, True
    if latest is not None and now - latest.raised_at < timedelta(seconds=settings.andon.min_gap_s):
        return None, False
    alert = DowntimeAlert(machine_id=state.machine_id, state_id=state.id, down_start=state.start_at,
                          raised_at=now, status=AlertStatus.OPEN, escalation_level=0,
                          reason_code=state.reason_code, alarm_code=state.reason_code,
                          task_id=f"eqdown-{state.machine_id}-{int(now.timestamp())}-{secrets.token_hex(3)}")
    session.add(alert)
    await session.flush()
    await notifier.alert(session, await view_of(session, alert), level=0, now=now)
    return alert, True


async def on_recovered(session: AsyncSession, machine_id: int, at: datetime) -> None:
    """The machine left `down`: stop escalating its active alert (cancelled later if nobody took it)."""
    for alert in await session.scalars(select(DowntimeAlert).where(
            DowntimeAlert.machine_id == machine_id, DowntimeAlert.status.in_(ACTIVE),
            DowntimeAlert.recovered_at.is_(None))):
        alert.recovered_at = at


async def acknowledge(session: AsyncSession, alert_id: int, user: User, now: datetime) -> AlertView:
    alert = await _get(session, alert_id)
    if alert.status == AlertStatus.ACKNOWLEDGED:
        raise AndonRefused("already_acknowledged", alert, await _name(session, alert.acknowledged_by))
    if alert.status != AlertStatus.OPEN:
        raise AndonRefused(f"already_{alert.status}", alert, await _name(session, alert.fixed_by))
    alert.status, alert.acknowledged_at, alert.acknowledged_by = AlertStatus.ACKNOWLEDGED, now, user.id
    return await view_of(session, alert)


async def alert_to_fix(session: AsyncSession, user: User, machine_code: str | None) -> int:
    """The active alert `已修复 [设备]` means: the machine's, or else the one alert this user took."""
    query = select(DowntimeAlert.id).where(DowntimeAlert.status.in_(ACTIVE)).order_by(DowntimeAlert.raised_at)
    if machine_code:
        query = query.join(Machine, Machine.id == DowntimeAlert.machine_id).where(Machine.code == machine_code)
    else:
        query = query.where(DowntimeAlert.acknowledged_by == user.id)
    found = list(await session.scalars(query))
    if len(found) == 1:
        return found[0]
    if machine_code:
        raise AndonRefused("no_active_alert" if not found else "several_alerts", by=machine_code)
    raise AndonRefused("which_machine" if found else "none_taken")


async def fix(session: AsyncSession, alert_id: int, user: User, now: datetime) -> AlertView:
    """Record the repair time; taking the alert is implied when nobody did."""
    alert = await _get(session, alert_id)
    if alert.status not in ACTIVE:
        raise AndonRefused(f"already_{alert.status}", alert, await _name(session, alert.fixed_by))
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = now, user.id
    alert.status, alert.fixed_at, alert.fixed_by = AlertStatus.FIXED, now, user.id
    return await view_of(session, alert)


async def set_reason(session: AsyncSession, alert_id: int, reason_code: str, now: datetime) -> AlertView:
    """Maintenance's reason wins over the PLC alarm, on the alert and on the down interval."""
    alert = await _get(session, alert_id)
    if alert.status != AlertStatus.FIXED:
        raise AndonRefused(f"reason_{alert.status}", alert)
    alert.reason_code, alert.reason_at = reason_code, now
    state = await session.get(MachineState, alert.state_id)
    if state is not None:
        state.reason_code = reason_code
    return await view_of(session, alert)


@dataclass
class SweepResult:
    raised: int = 0
    escalated: int = 0
    cancelled: int = 0


async def sweep(session: AsyncSession, settings: EquipmentSettings, notifier: Notifier,
                now: datetime) -> SweepResult:
    """Raise alerts that are due, escalate untaken ones, cancel untaken ones whose machine runs again."""
    result = SweepResult()
    threshold = now - timedelta(seconds=settings.andon.threshold_s)
    for state in await session.scalars(select(MachineState).where(
            MachineState.state == "down", MachineState.end_at.is_(None), MachineState.start_at <= threshold)):
        alert, _ = await raise_if_due(session, settings, notifier, state, now)
        result.raised += alert is not None
    steps = settings.andon.escalate_after_min
    for alert in await session.scalars(select(DowntimeAlert).where(DowntimeAlert.status == AlertStatus.OPEN)):
        if alert.recovered_at is not None:
            if now - alert.recovered_at >= timedelta(seconds=settings.andon.recover_s):
                alert.status = AlertStatus.CANCELLED
                await notifier.refresh(session, await view_of(session, alert), now=now)
                result.cancelled += 1
            continue
        level = alert.escalation_level
        if level < len(steps) and now - alert.raised_at >= timedelta(minutes=steps[level]):
            alert.escalation_level, alert.escalated_at = level + 1, now
            await notifier.alert(session, await view_of(session, alert), level=level + 1, now=now)
            result.escalated += 1
    return result


async def get_alert(session: AsyncSession, alert_id: int) -> DowntimeAlert:
    """The alert, locked for this transaction; AndonRefused("not_found") when there is none."""
    return await _get(session, alert_id)


async def _get(session: AsyncSession, alert_id: int) -> DowntimeAlert:
    alert = await session.get(DowntimeAlert, alert_id, with_for_update=True)
    if alert is None:
        raise AndonRefused("not_found")
    return alert


async def _name(session: AsyncSession, user_id: int | None) -> str:
    if user_id is None:
        return ""
    user = await session.get(User, user_id)
    return user.name if user is not None else ""
