"""Every few minutes: each KPI target checked over the current shift; one alert per breach."""
from __future__ import annotations

from datetime import datetime

from bot import outbox
from bot.context import Services
from bot.kpi.push import check_thresholds
from bot.kpi.service import kpi_settings
from bot.scheduler import Job


async def run(services: Services, now: datetime) -> None:
    if not kpi_settings(services.settings).threshold_alerts:
        return
    async with services.sessions.begin() as session:
        await check_thresholds(session, services.settings, services.templates, now)
    outbox.notify_if_enqueued(session, services.outbox_wakeup)


job = Job("kpi_thresholds", run, interval_s=600)
