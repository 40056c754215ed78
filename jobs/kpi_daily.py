"""Every morning: yesterday's plant and line KPIs to the managers."""
from __future__ import annotations

from datetime import datetime

from bot import outbox
from bot.context import Services
from bot.kpi.push import queue_daily_summary
from bot.kpi.service import kpi_settings
from bot.scheduler import Job


async def run(services: Services, now: datetime) -> None:
    if not kpi_settings(services.settings).daily_summary:
        return
    async with services.sessions.begin() as session:
        await queue_daily_summary(session, services.settings, services.templates, now)
    outbox.notify_if_enqueued(session, services.outbox_wakeup)


job = Job("kpi_daily", run, cron="30 8 * * *", catch_up_s=8 * 3600)  # yesterday's figures, that day
