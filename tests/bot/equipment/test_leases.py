"""Collector leases between replicas (two engines on one database, as two processes would have): one owner per
endpoint however the replicas race, takeover only after the TTL on a hand-driven clock, fencing of a replica
that lost its lease, and endpoints spreading over the live replicas."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.db import make_session_factory
from bot.equipment.leases import LeaseLost, LeaseManager, LeaseSettings, fair_share
from bot.models.replicas import CollectorLease
from tests.bot.equipment.support import FakeClock

pytestmark = pytest.mark.db
SETTINGS = LeaseSettings(ttl_s=6, renew_s=2)
ENDPOINTS = [f"ep{n}" for n in range(5)]


def managers(session_factory: async_sessionmaker[AsyncSession], other: AsyncEngine,
             clock: FakeClock) -> tuple[LeaseManager, LeaseManager]:
    return (LeaseManager(session_factory, SETTINGS, clock, "replica-a"),
            LeaseManager(make_session_factory(other), SETTINGS, clock, "replica-b"))


async def owners(sessions: async_sessionmaker[AsyncSession]) -> dict[str, tuple[str, int]]:
    async with sessions() as session:
        return {r.endpoint: (r.owner, r.token) for r in await session.scalars(select(CollectorLease))}


async def test_replicas_racing_never_both_own_an_endpoint(
        session_factory: async_sessionmaker[AsyncSession], second_engine: AsyncEngine, fake_clock: FakeClock) -> None:
    a, b = managers(session_factory, second_engine, fake_clock)
    for round_ in range(40):
        now = fake_clock()
        results = await asyncio.gather(*(m.acquire(e, now) for e in ENDPOINTS for m in (a, b)))
        assert not set(a.held) & set(b.held), f"round {round_}: both own {set(a.held) & set(b.held)}"
        assert set(a.held) | set(b.held) == set(ENDPOINTS)  # and every endpoint has its owner
        assert sum(1 for r in results if r is not None) == len(ENDPOINTS)
        stored = await owners(session_factory)
        for endpoint in ENDPOINTS:
            holder = a if endpoint in a.held else b
            assert stored[endpoint] == (holder.replica, holder.held[endpoint])
        fake_clock.advance(SETTINGS.ttl_s + 0.001)  # everyone silent past the TTL: the next round races anew


async def test_takeover_waits_for_the_ttl_and_fences_the_old_owner(
        session_factory: async_sessionmaker[AsyncSession], second_engine: AsyncEngine, fake_clock: FakeClock) -> None:
    a, b = managers(session_factory, second_engine, fake_clock)
    assert await a.acquire("ep0", fake_clock()) is not None
    fake_clock.advance(4)
    assert await a.renew(fake_clock()) == []
    fake_clock.advance(5.9)  # 5.9 s after the renewal: still valid
    assert await b.acquire("ep0", fake_clock()) is None
    fake_clock.advance(0.2)
    last_seen = fake_clock.now - timedelta(seconds=6.1)
    taken = await b.acquire("ep0", fake_clock())
    assert taken is not None and taken.previous_owner == "replica-a" and taken.gap_from == last_seen
    assert taken.token == 2
    with pytest.raises(LeaseLost):  # the old owner's next write transaction is refused by the fence
        async with session_factory.begin() as session:
            await a.fence(session, "ep0", fake_clock())
    assert "ep0" not in a.held and await a.renew(fake_clock()) == []
    async with b.sessions.begin() as session:
        await b.fence(session, "ep0", fake_clock())  # the new owner's pass
    await b.release("ep0", fake_clock())
    assert await a.acquire("ep0", fake_clock()) is not None  # released: no need to wait for the TTL


async def test_heartbeats_count_live_replicas(
        session_factory: async_sessionmaker[AsyncSession], second_engine: AsyncEngine, fake_clock: FakeClock) -> None:
    a, b = managers(session_factory, second_engine, fake_clock)
    assert await a.heartbeat(fake_clock()) == 1
    assert await b.heartbeat(fake_clock()) == 2
    fake_clock.advance(SETTINGS.ttl_s + 1)
    assert await a.heartbeat(fake_clock()) == 1  # b fell silent
    await a.leave(fake_clock())
    assert await b.heartbeat(fake_clock()) == 1
    assert [fair_share(5, n) for n in (1, 2, 3, 0)] == [5, 3, 2, 5]


def test_settings_refuse_a_renewal_slower_than_half_the_ttl() -> None:
    assert LeaseSettings(ttl_s=6, renew_s=4).validate()
    assert LeaseSettings(ttl_s=0.5).validate()
    assert LeaseSettings().validate() == []
