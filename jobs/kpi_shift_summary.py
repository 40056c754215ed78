"""After each shift (plus a short delay for late reports): a KPI card to every line's team leads."""
from __future__ import annotations

from datetime import datetime

from bot import outbox
from bot.context import Services
from bot.kpi.push import queue_shift_summaries
from bot.kpi.service import kpi_settings
from bot.scheduler import Job


async def run(services: Services, now: datetime) -> None:
    if not kpi_settings(services.settings).shift_summary:
        return
    async with services.sessions.begin() as session:
        await queue_shift_summaries(session, services.settings, services.templates, now)
    outbox.notify_if_enqueued(session, services.outbox_wakeup)


job = Job("kpi_shift_summary", run, interval_s=300)
