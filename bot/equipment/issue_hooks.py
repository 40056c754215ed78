"""Downtime that belongs on the issue list: an alert fixed with the reason 其他 (nobody could name the cause)
and a machine stopping `repeat_stops` times within `repeat_window_hours`. Each opens one issue, linked back
to its alert (`alert:<id>`, `stops:<machine>:<last alert id>`); the stops that opened one never count again.

Polled by jobs/issues_downtime.py rather than called from the andon taps: the alert's transaction stays as it
was, and an alert fixed while the bot was down still gets its issue.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.issues import open_issue
from bot.models import Machine, User
from bot.models.equipment import DowntimeAlert
from bot.models.issues import Issue, IssueSource

if TYPE_CHECKING:
    from bot.context import Services

LOOKBACK = timedelta(days=7)  # an OTHER reason older than this is history, not news


async def open_downtime_issues(services: Services, session: AsyncSession, now: datetime) -> int:
    return await _other_reasons(services, session, now) + await _repeated_stops(services, session, now)


async def _refs(session: AsyncSession, refs: list[str]) -> set[str]:
    if not refs:
        return set()
    return set(await session.scalars(select(Issue.source_ref).where(
        Issue.source == IssueSource.DOWNTIME, Issue.source_ref.in_(refs))))


async def _other_reasons(services: Services, session: AsyncSession, now: datetime) -> int:
    settings = services.settings.feature("issues")
    equipment = services.settings.feature("equipment")
    rows = (await session.execute(select(DowntimeAlert, Machine).join(Machine, Machine.id == DowntimeAlert.machine_id)
                                  .where(DowntimeAlert.reason_code == settings.downtime_other_reason,
                                         DowntimeAlert.reason_at.is_not(None),
                                         DowntimeAlert.reason_at >= now - LOOKBACK)
                                  .order_by(DowntimeAlert.id))).all()
    known = await _refs(session, [f"alert:{alert.id}" for alert, _ in rows])
    opened = 0
    for alert, machine in rows:
        ref = f"alert:{alert.id}"
        if ref in known:
            continue
        fixer = await session.get(User, alert.fixed_by) if alert.fixed_by else None
        minutes = int(((alert.fixed_at or now) - alert.down_start).total_seconds() // 60)
        text = services.templates.render("issues/from_downtime.txt.j2", kind="other", machine=machine, alert=alert,
                                         minutes=minutes, reason=equipment.reason_name(alert.reason_code))
        title, _, description = text.partition("\n")
        result = await open_issue(session, services=services, source=IssueSource.DOWNTIME, ref=ref, title=title,
                                  description=description.strip(), category=settings.downtime_category,
                                  reporter=fixer, machine_id=machine.id, now=now)
        opened += result.created
    return opened


async def _repeated_stops(services: Services, session: AsyncSession, now: datetime) -> int:
    settings = services.settings.feature("issues")
    since = now - timedelta(hours=settings.repeat_window_hours)
    busy = (await session.execute(select(DowntimeAlert.machine_id).where(DowntimeAlert.raised_at >= since)
                                  .group_by(DowntimeAlert.machine_id)
                                  .having(func.count() >= settings.repeat_stops))).scalars().all()
    opened = 0
    for machine_id in busy:
        last_issue = await session.scalar(select(func.max(Issue.created_at)).where(
            Issue.source == IssueSource.DOWNTIME, Issue.machine_id == machine_id, Issue.source_ref.like("stops:%")))
        start = max(since, last_issue) if last_issue else since
        alerts = list(await session.scalars(select(DowntimeAlert).where(
            DowntimeAlert.machine_id == machine_id, DowntimeAlert.raised_at >= start,
            *([DowntimeAlert.raised_at > last_issue] if last_issue else [])).order_by(DowntimeAlert.id)))
        if len(alerts) < settings.repeat_stops:
            continue
        machine = await session.get(Machine, machine_id)
        if machine is None:
            continue
        text = services.templates.render("issues/from_downtime.txt.j2", kind="stops", machine=machine,
                                         alert=alerts[-1], count=len(alerts), hours=settings.repeat_window_hours,
                                         alerts=alerts)
        title, _, description = text.partition("\n")
        result = await open_issue(session, services=services, source=IssueSource.DOWNTIME,
                                  ref=f"stops:{machine_id}:{alerts[-1].id}", title=title,
                                  description=description.strip(), category=settings.downtime_category,
                                  machine_id=machine_id, now=now)
        opened += result.created
    return opened
