"""Collector leases: each OPC UA endpoint is collected by one replica at a time, through a row in the database.

A lease is a row renewed every `renew_s` and valid for `ttl_s`, not a session advisory lock: advisory locks
belong to a server connection and are lost or leaked behind PgBouncer's transaction pooling, while a row
works through any pooler and on SQLite. Every change of owner increments `token`; the owner's writes carry
a fence (`fence`) that updates the row for (endpoint, owner, token) in the same transaction as the state
rows, so a replica that lost its lease (paused, partitioned, slow) writes nothing once a new owner took over:
the fence matches no row and the transaction rolls back. Clocks only decide when a lease counts as expired;
safety rests on the token alone.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models.replicas import CollectorLease, ReplicaHeartbeat

log = logging.getLogger(__name__)


@dataclass
class LeaseSettings:
    """`[leases]`: how long an endpoint's lease lasts without renewal, and how often its owner renews it."""

    ttl_s: float = 6.0  # a dead owner's endpoints are taken over within ttl_s + renew_s
    renew_s: float = 2.0
    replica_id: str = ""  # empty: host-pid-random, new on every start

    def validate(self) -> list[str]:
        problems = []
        if not 1.0 <= self.ttl_s <= 300:
            problems.append("ttl_s: between 1 and 300 seconds")
        if not 0.1 <= self.renew_s <= self.ttl_s / 2:
            problems.append("renew_s: at least 0.1 s and at most half of ttl_s (one renewal may fail)")
        if len(self.replica_id) > 100:
            problems.append("replica_id: at most 100 characters")
        return problems


class LeaseLost(Exception):
    """The lease of an endpoint moved to another replica: this replica's write was rolled back."""


@dataclass(frozen=True)
class Taken:
    """A lease just acquired; `gap_from` is the previous owner's last sign of life (None: no previous owner)."""

    endpoint: str
    token: int
    previous_owner: str | None
    gap_from: datetime | None


def default_replica_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def fair_share(endpoints: int, live_replicas: int) -> int:
    """How many endpoints one replica should hold so that they spread over the live replicas."""
    return -(-endpoints // max(1, live_replicas))


class LeaseManager:
    """The leases this replica holds; every method is one short transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: LeaseSettings,
                 clock: Callable[[], datetime], replica: str | None = None) -> None:
        self.sessions, self.settings, self.clock = sessions, settings, clock
        self.replica = replica or settings.replica_id or default_replica_id()
        self.held: dict[str, int] = {}  # endpoint -> token

    @property
    def ttl(self) -> timedelta:
        return timedelta(seconds=self.settings.ttl_s)

    def preference(self, endpoint: str) -> int:
        """A per-replica order of endpoints, so replicas starting together reach for different ones first."""
        return zlib.crc32(f"{self.replica}/{endpoint}".encode())

    async def heartbeat(self, now: datetime) -> int:
        """Say this replica is alive; returns the number of live replicas (this one included)."""
        async with self.sessions.begin() as session:
            done = await session.execute(update(ReplicaHeartbeat).where(ReplicaHeartbeat.replica == self.replica)
                                         .values(seen_at=now))
            if done.rowcount == 0:  # type: ignore[attr-defined]
                session.add(ReplicaHeartbeat(replica=self.replica, seen_at=now))
            await session.execute(delete(ReplicaHeartbeat).where(ReplicaHeartbeat.seen_at < now - 10 * self.ttl))
            live = await session.scalar(select(func.count()).select_from(ReplicaHeartbeat)
                                        .where(ReplicaHeartbeat.seen_at > now - self.ttl))
        return max(1, int(live or 0))

    async def acquire(self, endpoint: str, now: datetime) -> Taken | None:
        """Take the endpoint if nobody holds a valid lease on it (compare-and-swap on the token)."""
        try:
            async with self.sessions.begin() as session:
                row = (await session.execute(select(CollectorLease).where(CollectorLease.endpoint == endpoint)
                                             .with_for_update())).scalar_one_or_none()
                if row is None:
                    session.add(CollectorLease(endpoint=endpoint, owner=self.replica, token=1, acquired_at=now,
                                               renewed_at=now, expires_at=now + self.ttl))
                    await session.flush()
                    taken = Taken(endpoint, 1, None, None)
                else:
                    if row.expires_at > now and not (row.owner == self.replica and self.held.get(endpoint)
                                                     == row.token):
                        self.held.pop(endpoint, None)  # a peer holds it: whatever this replica held is void
                        return None
                    token, previous, last_seen = row.token + 1, row.owner, row.renewed_at  # before the update
                    swapped = await session.execute(
                        update(CollectorLease).where(CollectorLease.endpoint == endpoint,
                                                     CollectorLease.token == row.token)
                        .values(owner=self.replica, token=token, acquired_at=now, renewed_at=now,
                                expires_at=now + self.ttl))
                    if swapped.rowcount != 1:  # type: ignore[attr-defined]
                        return None
                    taken = Taken(endpoint, token, previous, last_seen)
        except DBAPIError as exc:  # a concurrent insert of the first lease, or SQLite busy: someone else won
            log.debug("lease %s not taken: %s", endpoint, exc)
            return None
        self.held[endpoint] = taken.token
        log.info("lease %s taken by %s (token %d, previous owner %s)", endpoint, self.replica, taken.token,
                 taken.previous_owner or "none")
        return taken

    async def renew(self, now: datetime) -> list[str]:
        """Extend every held lease; returns the endpoints whose lease another replica took meanwhile."""
        lost = []
        async with self.sessions.begin() as session:
            for endpoint, token in list(self.held.items()):
                if not await self._touch(session, endpoint, token, now):
                    lost.append(endpoint)
        for endpoint in lost:
            self.held.pop(endpoint, None)
            log.warning("lease %s lost by %s: another replica took it", endpoint, self.replica)
        return lost

    async def fence(self, session: AsyncSession, endpoint: str, now: datetime) -> None:
        """Inside a write transaction: proves this replica still owns the endpoint, else rolls back by raising.
        The row lock it takes makes a concurrent takeover wait for this commit; it moves `renewed_at` (the last
        sign of life) but not the expiry: only the lease loop keeps a lease, so a stuck loop lets it go."""
        token = self.held.get(endpoint)
        if token is None or not await self._touch(session, endpoint, token, now, extend=False):
            self.held.pop(endpoint, None)
            raise LeaseLost(endpoint)

    async def release(self, endpoint: str, now: datetime) -> None:
        """Give the endpoint up at once (clean stop, rebalancing), so a peer need not wait for the TTL."""
        token = self.held.pop(endpoint, None)
        if token is None:
            return
        async with self.sessions.begin() as session:
            await session.execute(update(CollectorLease).where(
                CollectorLease.endpoint == endpoint, CollectorLease.owner == self.replica,
                CollectorLease.token == token).values(expires_at=now, renewed_at=now))
        log.info("lease %s released by %s", endpoint, self.replica)

    async def leave(self, now: datetime) -> None:
        """Release everything and stop counting as live."""
        for endpoint in list(self.held):
            await self.release(endpoint, now)
        async with self.sessions.begin() as session:
            await session.execute(delete(ReplicaHeartbeat).where(ReplicaHeartbeat.replica == self.replica))

    async def _touch(self, session: AsyncSession, endpoint: str, token: int, now: datetime, *,
                     extend: bool = True) -> bool:
        values = {"renewed_at": now, "expires_at": now + self.ttl} if extend else {"renewed_at": now}
        done = await session.execute(update(CollectorLease).where(
            CollectorLease.endpoint == endpoint, CollectorLease.owner == self.replica,
            CollectorLease.token == token).values(**values))
        return done.rowcount == 1  # type: ignore[attr-defined]


async def lease_rows(session: AsyncSession) -> list[CollectorLease]:
    """Every endpoint's lease, for `opsbot equipment status` and the metrics."""
    return list(await session.scalars(select(CollectorLease).order_by(CollectorLease.endpoint)))
