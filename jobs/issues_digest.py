"""Monday 09:00 plant time (`[jobs.issues_digest] cron` to change it): the PMs' weekly digest of the issue list,
sent once per ISO week and skipped for a week in which nothing changed."""
from __future__ import annotations

from datetime import datetime

from bot.context import Services
from bot.issues.digest import Digest
from bot.issues.digest_delivery import send_digest
from bot.scheduler import Job


async def run(services: Services, now: datetime) -> Digest | None:
    return await send_digest(services, now)


job = Job("issues_digest", run, cron="0 9 * * 1", catch_up_s=8 * 3600)  # a digest is still news that day
