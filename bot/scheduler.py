"""A thin job queue over APScheduler: named jobs, schedules from config, one firing per slot across replicas."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import IntegrityError

from bot.context import Services
from bot.errors import report_error
from bot.models import JobRun

log = logging.getLogger(__name__)
JobFunc = Callable[[Services, datetime], Awaitable[None]]


@dataclass(frozen=True)
class Job:
    """One scheduled job; `cron` or `interval_s` is only the default, `[jobs.<name>]` in config overrides it."""

    name: str
    run: JobFunc
    cron: str = ""
    interval_s: float = 0.0
    singleton: bool = True


def slot_of(job: Job, now: datetime, interval_s: float) -> str:
    """The schedule slot a firing belongs to, the same on every replica that fires for it."""
    if interval_s:
        return str(int(now.timestamp() // interval_s))
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


class JobRunner:
    def __init__(self, services: Services, jobs: list[Job]) -> None:
        self.services = services
        self.jobs = jobs
        self.scheduler = AsyncIOScheduler(
            timezone=services.settings.tz,
            job_defaults={"coalesce": True, "misfire_grace_time": 60, "max_instances": 1})

    def start(self) -> None:
        for job in self.jobs:
            override = self.services.settings.jobs.get(job.name)
            if override is not None and not override.enabled:
                continue
            cron = override.cron if override and override.cron else job.cron
            interval = override.interval_s if override and override.interval_s else job.interval_s
            if override and override.cron:
                interval = 0.0
            trigger = (IntervalTrigger(seconds=interval) if interval
                       else CronTrigger.from_crontab(cron, timezone=self.services.settings.tz))
            self.scheduler.add_job(self.fire, trigger, args=[job, interval], id=job.name, name=job.name)
        self.scheduler.start()

    async def fire(self, job: Job, interval_s: float) -> None:
        """Runs a job once for its slot; its failure is reported and never stops the scheduler."""
        now = self.services.clock()
        run: JobRun | None = None
        if job.singleton:
            run = await self._claim(job, slot_of(job, now, interval_s), now)
            if run is None:
                return
        error = None
        try:
            await job.run(self.services, now)
        except Exception as exc:  # noqa: BLE001 - one pipeline for job errors
            report_error(f"job {job.name}", exc)
            error = repr(exc)
        if run is not None:
            async with self.services.sessions.begin() as session:
                row = await session.get(JobRun, run.id)
                if row is not None:
                    row.finished_at, row.error = self.services.clock(), error

    async def _claim(self, job: Job, slot: str, now: datetime) -> JobRun | None:
        try:
            async with self.services.sessions.begin() as session:
                run = JobRun(job=job.name, slot=slot, started_at=now)
                session.add(run)
            return run
        except IntegrityError:
            log.debug("job %s slot %s already taken by another replica", job.name, slot)
            return None

    async def shutdown(self) -> None:
        self.scheduler.shutdown(wait=False)
