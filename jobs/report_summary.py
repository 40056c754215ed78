"""After each shift of the plant's calendar: a report summary to every line's team leads."""
from __future__ import annotations

from datetime import datetime

from bot import outbox
from bot.context import Services
from bot.reports.summary import queue_shift_summaries
from bot.scheduler import Job


async def run(services: Services, now: datetime) -> None:
    async with services.sessions.begin() as session:
        await queue_shift_summaries(session, services.settings, services.templates, now)
    outbox.notify_if_enqueued(session, services.outbox_wakeup)


# Every 5 minutes rather than a fixed cron, so the shift calendar in [reports] alone decides the times.
job = Job("report_summary", run, interval_s=300)
