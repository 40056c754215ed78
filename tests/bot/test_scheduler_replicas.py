"""Two schedulers (two replicas: own engines, one PostgreSQL database) on a clock the test moves: every slot
runs exactly once however they race, and a slot missed while both were down runs once on recovery when the
job's policy still finds it useful (a digest within its grace), never for a threshold check, never twice."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import Services
from bot.models import JobRun
from bot.scheduler import Job, JobRunner, last_fire
from bot.settings import settings_from_dict
from bot.templates import Templates
from tests.bot.equipment.support import FakeClock

pytestmark = pytest.mark.db
MONDAY_0900 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai


def replica(sessions: async_sessionmaker[AsyncSession], clock: FakeClock, jobs: list[Job]) -> JobRunner:
    settings = settings_from_dict({})
    return JobRunner(Services(settings=settings, sessions=sessions, templates=Templates(settings.tz), clock=clock),
                     jobs)


def recorder() -> tuple[list[datetime], Job, Job, Job]:
    runs: list[datetime] = []

    async def body(services: Services, now: datetime) -> None:
        runs.append(now)
        await asyncio.sleep(0)  # let the other replica's claim run meanwhile

    return (runs, Job("digest", body, cron="0 9 * * 1", catch_up_s=6 * 3600),
            Job("thresholds", body, cron="*/10 * * * *"), Job("sweep", body, interval_s=30))


async def slots(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, str, str | None]]:
    async with sessions() as session:
        return [(r.job, r.slot, r.error) for r in await session.scalars(select(JobRun).order_by(JobRun.id))]


async def test_racing_replicas_run_each_slot_once(
        session_factory: async_sessionmaker[AsyncSession], peer: async_sessionmaker[AsyncSession]) -> None:
    clock = FakeClock(MONDAY_0900)
    runs, _, thresholds, sweep = recorder()
    a, b = replica(session_factory, clock, [thresholds, sweep]), replica(peer, clock, [thresholds, sweep])
    start = clock.now
    for n in range(30):  # the second replica fires a little later, as a loaded one does
        clock.now = start + timedelta(seconds=30 * n)
        first = a.fire(sweep, 30)
        clock.now += timedelta(seconds=0.4)
        await asyncio.gather(first, b.fire(sweep, 30))
    for n in range(5):  # a cron slot, the second replica 45 s late (within the misfire grace)
        clock.now = start + timedelta(minutes=10 * n)
        first = a.fire(thresholds, 0)
        clock.now += timedelta(seconds=45)
        await asyncio.gather(first, b.fire(thresholds, 0))
    rows = await slots(session_factory)
    assert len([r for r in rows if r[0] == "sweep"]) == 30
    assert [r[1] for r in rows if r[0] == "thresholds"] == [f"2026-03-02T01:{m}0" for m in range(5)]
    assert len(runs) == 35 and len(set(rows)) == len(rows)


async def test_a_slot_missed_by_every_replica_runs_once_if_still_useful(
        session_factory: async_sessionmaker[AsyncSession], peer: async_sessionmaker[AsyncSession]) -> None:
    clock = FakeClock(MONDAY_0900 - timedelta(days=7))
    runs, digest, thresholds, _ = recorder()
    a, b = replica(session_factory, clock, [digest, thresholds]), replica(peer, clock, [digest, thresholds])
    await asyncio.gather(a.fire(digest, 0), b.fire(digest, 0), a.fire(thresholds, 0), b.fire(thresholds, 0))
    assert len(runs) == 2  # last week, both up: once each
    clock.now = MONDAY_0900 + timedelta(hours=1, minutes=35)  # both were down from Sunday to 10:35
    recovered = await asyncio.gather(a.recover(), b.recover())
    assert sorted(sum(recovered, [])) == ["digest@2026-03-02T01:00"]
    assert runs[2:] == [MONDAY_0900]  # run as of its slot, once, by one replica
    assert (await slots(session_factory))[-1] == ("thresholds", "2026-03-02T02:30",
                                                  "missed while no replica ran; too old to run")
    assert await a.recover() == [] and await b.recover() == []  # a second start finds nothing to do
    assert len(runs) == 3
    clock.now = MONDAY_0900 + timedelta(days=7, seconds=20)  # next week both are up again: once, as always
    await asyncio.gather(a.fire(digest, 0), b.fire(digest, 0))
    assert len(runs) == 4


async def test_a_digest_missed_for_longer_than_its_grace_is_dropped(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    clock = FakeClock(MONDAY_0900 - timedelta(days=7))
    runs, digest, _, _ = recorder()
    runner = replica(session_factory, clock, [digest])
    await runner.fire(digest, 0)
    clock.now = MONDAY_0900 + timedelta(hours=7)
    assert await runner.recover() == []
    assert runs == [MONDAY_0900 - timedelta(days=7)]
    assert (await slots(session_factory))[-1][:2] == ("digest", "2026-03-02T01:00")


async def test_a_new_install_has_missed_nothing(session_factory: async_sessionmaker[AsyncSession]) -> None:
    runs, digest, _, _ = recorder()
    assert await replica(session_factory, FakeClock(MONDAY_0900 + timedelta(hours=1)), [digest]).recover() == []
    assert runs == [] and await slots(session_factory) == []


def test_the_slot_is_the_scheduled_time_not_the_firing_time() -> None:
    _, digest, _, _ = recorder()
    runner = replica(None, FakeClock(), [digest])  # type: ignore[arg-type]
    late = MONDAY_0900 + timedelta(seconds=59)
    assert runner.slot(digest, late, 0) == runner.slot(digest, MONDAY_0900, 0) == "2026-03-02T01:00"
    trigger = runner._schedules["digest"][0]  # type: ignore[index]
    assert last_fire(trigger, MONDAY_0900 - timedelta(seconds=1), timedelta(days=8)) == MONDAY_0900 - timedelta(days=7)
