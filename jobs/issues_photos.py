"""Fetches photos members just sent with an issue (media/get), within seconds of the reply; every replica may
run it, each photo is claimed by one of them."""
from __future__ import annotations

from datetime import datetime

from bot.context import Services
from bot.issues.photos import Fetched, fetch_pending
from bot.scheduler import Job


async def run(services: Services, now: datetime) -> Fetched:
    return await fetch_pending(services, now)


job = Job("issues_photos", run, interval_s=2, singleton=False)
