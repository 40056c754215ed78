"""After each shift: reported vs counted parts per line, to the team leads where they differ beyond tolerance."""
from __future__ import annotations

from datetime import datetime

from bot import outbox
from bot.context import Services
from bot.kpi.reconciliation import queue_reconciliations
from bot.kpi.service import kpi_settings
from bot.scheduler import Job


async def run(services: Services, now: datetime) -> None:
    if not kpi_settings(services.settings).reconciliation:
        return
    async with services.sessions.begin() as session:
        await queue_reconciliations(session, services.settings, services.templates, now)
    outbox.notify_if_enqueued(session, services.outbox_wakeup)


job = Job("kpi_reconciliation", run, interval_s=300)
