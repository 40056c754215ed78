"""Per-shift summaries for each line's team leads, queued once per line and shift however often it runs."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot.models import Line
from bot.people import userids_with_roles
from bot.reports.queries import shift_summary
from bot.reports.settings import ReportsSettings
from bot.settings import Settings
from bot.templates import Templates


def summary_key(line_code: str, day: object, shift_code: str) -> str:
    return f"reports:summary:{line_code}:{day}:{shift_code}"


async def queue_shift_summaries(session: AsyncSession, settings: Settings, templates: Templates,
                                now: datetime) -> int:
    """Queues the summary of every shift that ended within the lookback; returns how many were queued."""
    reports: ReportsSettings = settings.feature("reports")
    calendar = settings.calendar
    slots = calendar.ended_between(now - timedelta(minutes=reports.summary_lookback_minutes), now)
    if not slots:
        return 0
    queued = 0
    for line in (await session.scalars(select(Line).order_by(Line.code))).all():
        leads = await userids_with_roles(session, [reports.approver_role], line_id=line.id)
        if not leads:
            continue
        for slot in slots:
            key = summary_key(line.code, slot.day, slot.code)
            if await outbox.is_queued(session, key):
                continue
            summary = await shift_summary(session, reports, calendar, line, slot)
            if not summary.rows and not summary.pending and not reports.summary_when_empty:
                continue
            text = templates.render("reports/summary.txt.j2", s=summary)
            if await outbox.enqueue_once(session, key, "text", {"content": text}, to=leads,
                                         priority=outbox.Priority.ROUTINE, now=now) is not None:
                queued += 1
    return queued
