"""Opens issues for downtime: an alert fixed with the reason 其他, and a machine that keeps stopping."""
from __future__ import annotations

from datetime import datetime

from bot import outbox
from bot.context import Services
from bot.equipment.issue_hooks import open_downtime_issues
from bot.scheduler import Job


async def run(services: Services, now: datetime) -> int:
    async with services.sessions.begin() as session:
        opened = await open_downtime_issues(services, session, now)
    outbox.notify_if_enqueued(session, services.outbox_wakeup)
    return opened


job = Job("issues_downtime", run, interval_s=60)
