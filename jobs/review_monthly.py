"""The 1st of the month at 09:00 plant time: last month's review to every manager, once per manager and month
(`[jobs.review_monthly]` in the config moves it, e.g. to the first working morning)."""
from __future__ import annotations

from datetime import datetime

from bot import outbox
from bot.context import Services
from bot.review.access import default_month
from bot.review.delivery import send_month
from bot.scheduler import Job


async def run(services: Services, now: datetime) -> int:
    month = default_month(services.settings, now)
    async with services.sessions.begin() as session:
        sent = await send_month(session, services.settings, services.templates, month, now)
    outbox.notify_if_enqueued(session, services.outbox_wakeup)
    return sent


job = Job("review_monthly", run, cron="0 9 1 * *", catch_up_s=3 * 86400)  # the month's review, days late
