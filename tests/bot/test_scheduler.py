"""Jobs: a slot fires once across replicas, a failing job is reported and the scheduler goes on."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.context import Services
from bot.db import utcnow
from bot.errors import error_counts
from bot.models import JobRun
from bot.scheduler import Job, JobRunner, slot_of
from bot.settings import settings_from_dict
from bot.templates import Templates

pytestmark = pytest.mark.db
NOON = datetime(2026, 11, 25, 4, 0, 30, tzinfo=UTC)


def services(session_factory, jobs_config: dict | None = None) -> Services:
    settings = settings_from_dict({"jobs": jobs_config or {}})
    return Services(settings=settings, sessions=session_factory, templates=Templates(settings.tz),
                    clock=lambda: NOON)


async def test_two_replicas_firing_the_same_slot_run_the_job_once(session_factory) -> None:
    runs: list[datetime] = []

    async def job_body(svc: Services, now: datetime) -> None:
        runs.append(now)

    job = Job("digest", job_body, cron="0 12 * * *")
    replica_a, replica_b = JobRunner(services(session_factory), [job]), JobRunner(services(session_factory), [job])
    await replica_a.fire(job, 0)
    await replica_b.fire(job, 0)
    assert len(runs) == 1
    async with session_factory() as session:
        row = (await session.scalars(select(JobRun))).one()
    assert row.job == "digest" and row.finished_at is not None and row.error is None


async def test_a_failing_job_is_recorded_and_reported(session_factory) -> None:
    async def broken(svc: Services, now: datetime) -> None:
        raise RuntimeError("boom")

    job = Job("broken", broken, interval_s=60)
    before = error_counts["job broken"]
    await JobRunner(services(session_factory), [job]).fire(job, 60)
    assert error_counts["job broken"] == before + 1
    async with session_factory() as session:
        row = (await session.scalars(select(JobRun))).one()
    assert "boom" in (row.error or "")


def test_slots_are_shared_between_replicas() -> None:
    job = Job("x", lambda s, n: None)  # type: ignore[arg-type,return-value]
    assert slot_of(job, NOON, 60) == slot_of(job, NOON.replace(second=59), 60)
    assert slot_of(job, NOON, 0) == "2026-11-25T04:00"


async def test_config_overrides_the_default_schedule_and_can_disable(session_factory) -> None:
    async def noop(svc: Services, now: datetime) -> None:
        return None

    runner = JobRunner(services(session_factory, {"a": {"cron": "30 7 * * *"}, "b": {"enabled": False}}),
                       [Job("a", noop, interval_s=5), Job("b", noop, interval_s=5)])
    runner.start()
    try:
        ids = {j.id: j for j in runner.scheduler.get_jobs()}
        assert set(ids) == {"a"}
        fire = ids["a"].trigger.get_next_fire_time(None, utcnow())
        assert (fire.hour, fire.minute) == (7, 30)
    finally:
        await runner.shutdown()
