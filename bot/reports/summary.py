"""Per-shift summaries for each line's team leads, queued once per line and shift however often it runs."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot.models import Line, OutboxMessage, User
from bot.reports.queries import shift_summary
from bot.reports.settings import ReportsSettings
from bot.reports.shifts import ended_between
from bot.settings import Settings
from bot.templates import Templates


def summary_key(line_code: str, day: object, shift_code: str) -> str:
    return f"reports:summary:{line_code}:{day}:{shift_code}"


async def queue_shift_summaries(session: AsyncSession, settings: Settings, templates: Templates,
                                now: datetime) -> int:
    """Queues the summary of every shift that ended within the lookback; returns how many were queued."""
    reports: ReportsSettings = settings.feature("reports")
    slots = ended_between(reports.shifts, now - timedelta(minutes=reports.summary_lookback_minutes), now,
                          settings.tz)
    if not slots:
        return 0
    users = (await session.scalars(select(User).where(User.active.is_(True)))).all()
    queued = 0
    for line in (await session.scalars(select(Line).order_by(Line.code))).all():
        leads = [u.wecom_userid for u in users if reports.approver_role in u.roles and u.line_id == line.id]
        if not leads:
            continue
        for slot in slots:
            key = summary_key(line.code, slot.day, slot.code)
            if await session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)):
                continue
            summary = await shift_summary(session, reports, line, slot)
            if not summary.rows and not summary.pending and not reports.summary_when_empty:
                continue
            text = templates.render("reports/summary.txt.j2", s=summary)
            outbox.enqueue(session, "text", {"content": text}, to=leads, idempotency_key=key, now=now)
            queued += 1
    return queued
