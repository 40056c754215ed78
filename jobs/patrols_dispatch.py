"""Every minute: the rounds whose slot has begun are created (once, by their unique key) and their cards sent."""
from __future__ import annotations

from datetime import datetime

from bot.context import Services
from bot.patrols.kickoff import dispatch_due_rounds
from bot.scheduler import Job


async def run(services: Services, now: datetime) -> None:
    async with services.sessions.begin() as session:
        await dispatch_due_rounds(session, services.settings, services.templates, now)
    services.outbox_wakeup.set()


job = Job("patrols_dispatch", run, interval_s=60)
