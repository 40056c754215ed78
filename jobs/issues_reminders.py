"""Each morning: owners are reminded of issues due today or overdue; long-overdue ones go to PMs, then managers."""
from __future__ import annotations

from datetime import datetime

from bot.context import Services
from bot.issues.reminders import Reminded, remind_and_escalate
from bot.scheduler import Job


async def run(services: Services, now: datetime) -> Reminded:
    return await remind_and_escalate(services, now)


job = Job("issues_reminders", run, cron="30 8 * * *", catch_up_s=4 * 3600)  # useful that morning
