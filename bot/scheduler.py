"""A thin job queue over APScheduler: named jobs, schedules from config, one firing per slot across replicas.

Every replica schedules every job; a firing first claims its slot in `job_runs` (unique job + slot) with
INSERT … ON CONFLICT DO NOTHING, so exactly one replica runs it. The slot is the *scheduled* time, not the
moment a replica got round to firing (cron: the last fire time of the trigger; interval: the epoch-aligned
bucket, and interval triggers are aligned to the epoch so all replicas fire together). On start each replica
looks for the last cron slot missed while every replica was down: within the job's `catch_up_s` it runs once
(claimed like any firing, so never twice), older it is recorded as dropped.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import insert, select

from bot import metrics
from bot.context import Services
from bot.errors import report_error
from bot.models import JobRun

log = logging.getLogger(__name__)
JobFunc = Callable[[Services, datetime], Awaitable[None]]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MISFIRE_GRACE_S = 60
RECOVERY_LOOKBACK = timedelta(days=8)  # a weekly job's last slot is always within it


@dataclass(frozen=True)
class Job:
    """One scheduled job; `cron` or `interval_s` is only the default, `[jobs.<name>]` in config overrides it.

    `catch_up_s`: a cron slot missed while every replica was down still runs once on recovery if it is at most
    this old (a digest or a daily push is still worth sending an hour late); 0 drops it (a threshold check or
    a sweep is only useful now, and its next slot comes soon anyway)."""

    name: str
    run: JobFunc
    cron: str = ""
    interval_s: float = 0.0
    singleton: bool = True
    catch_up_s: float = 0.0


def slot_of(job: Job, now: datetime, interval_s: float) -> str:
    """The schedule slot a firing at `now` belongs to, the same on every replica that fires for it."""
    if interval_s:
        return str(int(now.timestamp() // interval_s))
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def last_fire(trigger: BaseTrigger, now: datetime, window: timedelta) -> datetime | None:
    """The trigger's latest fire time in (now - window, now], or None."""
    fire = trigger.get_next_fire_time(None, now - window)
    if fire is None or fire > now:
        return None
    while True:
        following = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
        if following is None or following > now:
            return fire
        fire = following


DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def crontab_trigger(expr: str, tz: Any) -> CronTrigger:
    """A standard crontab line. APScheduler 3's `from_crontab` counts weekdays from Monday = 0, so "0 9 * * 1"
    fired on Tuesdays; standard cron counts from Sunday = 0 (and 7), which the names here make unambiguous."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"crontab {expr!r}: five fields expected (minute hour day month weekday)")
    minute, hour, day, month, weekday = fields
    weekday = re.sub(r"(?<![/\d])\d+", lambda m: DAY_NAMES[int(m.group())] if int(m.group()) < 8 else m.group(),
                     weekday)
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=weekday, timezone=tz)


class JobRunner:
    def __init__(self, services: Services, jobs: list[Job]) -> None:
        self.services = services
        self.jobs = jobs
        self.scheduler = AsyncIOScheduler(
            timezone=services.settings.tz,
            job_defaults={"coalesce": True, "misfire_grace_time": MISFIRE_GRACE_S, "max_instances": 1})
        self._schedules = {job.name: self._schedule(job) for job in jobs}
        self._recovery: asyncio.Future[None] | None = None

    def _schedule(self, job: Job) -> tuple[BaseTrigger, float] | None:
        """(trigger, interval_s or 0 for cron) as configured; None when disabled."""
        override = self.services.settings.jobs.get(job.name)
        if override is not None and not override.enabled:
            return None
        cron = override.cron if override and override.cron else job.cron
        interval = override.interval_s if override and override.interval_s else job.interval_s
        if override and override.cron:
            interval = 0.0
        if interval:
            return IntervalTrigger(seconds=interval, start_date=EPOCH, timezone=UTC), interval
        return crontab_trigger(cron, self.services.settings.tz), 0.0

    def start(self) -> None:
        for job in self.jobs:
            if (schedule := self._schedules[job.name]) is not None:
                trigger, interval = schedule
                self.scheduler.add_job(self.fire, trigger, args=[job, interval], id=job.name, name=job.name)
        self.scheduler.start()
        self._recovery = asyncio.ensure_future(self._recover_reported())

    async def _recover_reported(self) -> None:
        try:
            await self.recover()
        except Exception as exc:  # noqa: BLE001 - the database may be away at start; the next start looks again
            report_error("job recovery", exc)

    def slot(self, job: Job, now: datetime, interval_s: float) -> str:
        """The scheduled slot of a firing: the cron fire time it belongs to, else the interval bucket."""
        schedule = self._schedules.get(job.name)
        if not interval_s and schedule is not None:
            fire = last_fire(schedule[0], now, timedelta(seconds=MISFIRE_GRACE_S + 1))
            if fire is not None:
                return slot_of(job, fire, 0)
        return slot_of(job, now, interval_s)

    async def fire(self, job: Job, interval_s: float) -> None:
        """Runs a job once for its slot; its failure is reported and never stops the scheduler."""
        now = self.services.clock()
        if not job.singleton:
            await self._run(job, now, None, "ok")
            return
        run_id = await self._claim(job, self.slot(job, now, interval_s), now)
        if run_id is None:
            metrics.job_run(job.name, "taken")
            return
        await self._run(job, now, run_id, "ok")

    async def recover(self) -> list[str]:
        """Cron slots missed while no replica ran: run once within `catch_up_s`, else record them as dropped."""
        now = self.services.clock()
        done = []
        for job in self.jobs:
            schedule = self._schedules.get(job.name)
            if not job.singleton or schedule is None or schedule[1]:
                continue
            fire = last_fire(schedule[0], now, RECOVERY_LOOKBACK)
            if fire is None or not await self._missed(job, slot_of(job, fire, 0), fire):
                continue
            slot = slot_of(job, fire, 0)
            if (now - fire).total_seconds() <= job.catch_up_s:
                run_id = await self._claim(job, slot, now)
                if run_id is not None:
                    log.info("job %s: slot %s was missed while no replica ran; running it now", job.name, slot)
                    await self._run(job, fire, run_id, "recovered")
                    done.append(f"{job.name}@{slot}")
            elif await self._claim(job, slot, now, error="missed while no replica ran; too old to run") is not None:
                log.warning("job %s: slot %s was missed while no replica ran and is dropped", job.name, slot)
                metrics.job_run(job.name, "dropped")
        return done

    async def _missed(self, job: Job, slot: str, fire: datetime) -> bool:
        """No replica claimed the slot, although the job ran before it (a new install has missed nothing)."""
        async with self.services.sessions() as session:
            claimed = await session.scalar(select(JobRun.id).where(JobRun.job == job.name, JobRun.slot == slot))
            earlier = await session.scalar(select(JobRun.id).where(JobRun.job == job.name, JobRun.started_at < fire)
                                           .limit(1))
        return claimed is None and earlier is not None

    async def _run(self, job: Job, now: datetime, run_id: int | None, outcome: str) -> None:
        error = None
        try:
            await job.run(self.services, now)
        except Exception as exc:  # noqa: BLE001 - one pipeline for job errors
            report_error(f"job {job.name}", exc)
            error = repr(exc)
        metrics.job_run(job.name, "error" if error else outcome)
        if run_id is not None:
            async with self.services.sessions.begin() as session:
                row = await session.get(JobRun, run_id)
                if row is not None:
                    row.finished_at, row.error = self.services.clock(), error

    async def _claim(self, job: Job, slot: str, now: datetime, error: str | None = None) -> int | None:
        """INSERT … ON CONFLICT DO NOTHING: the one replica that gets a row back runs the slot."""
        values = {"job": job.name, "slot": slot, "started_at": now, "finished_at": now if error else None,
                  "error": error}
        async with self.services.sessions.begin() as session:
            statement = _insert_ignoring_conflict(session.bind.dialect.name, values)
            run_id = (await session.execute(statement)).scalar()
        if run_id is None:
            log.debug("job %s slot %s already taken by another replica", job.name, slot)
        return run_id

    async def shutdown(self) -> None:
        self.scheduler.shutdown(wait=False)
        if self._recovery is not None and not self._recovery.done():
            self._recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._recovery


def _insert_ignoring_conflict(dialect: str, values: dict[str, object]):  # type: ignore[no-untyped-def]
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - settings refuse other databases
        return insert(JobRun).values(**values).returning(JobRun.id)
    return (dialect_insert(JobRun).values(**values).on_conflict_do_nothing(index_elements=["job", "slot"])
            .returning(JobRun.id))
