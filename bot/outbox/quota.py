"""WeCom's per-member limit (30 a minute, 1000 an hour from one app) counted in the database, so every replica's
sender sees the same count, and checked before a send, so no sender ever waits while holding a claimed row.

Counts live in short buckets (`BUCKET_S`). A send is allowed while the buckets that can overlap the last 60 s
(the current one and the 12 before it: 65 s in all) hold fewer than the limit, so no sliding minute can ever
exceed it; the price is at most one bucket of extra wait (30 per 65 s under a long backlog). The current
bucket is incremented with one conditional upsert, atomic on PostgreSQL across replicas."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import SendQuota

BUCKET_S = 5
MINUTE = timedelta(seconds=60)
HOUR = timedelta(hours=1)


class OverQuota(Exception):
    """A member has no room now; `retry_at` is the earliest time the count can have dropped."""

    def __init__(self, member: str, retry_at: datetime) -> None:
        super().__init__(f"{member} over quota until {retry_at.isoformat()}")
        self.member, self.retry_at = member, retry_at


def bucket_of(now: datetime) -> datetime:
    seconds = int(now.timestamp()) // BUCKET_S * BUCKET_S
    return datetime.fromtimestamp(seconds, UTC)


@dataclass
class MemberQuota:
    sessions: async_sessionmaker[AsyncSession]
    per_minute: int = 30
    per_hour: int = 1000

    async def reserve(self, members: list[str], now: datetime) -> None:
        """Counts one message for each member, all or none (one message reaches all of them or waits for the
        fullest); raises OverQuota with the time to try again."""
        async with self.sessions.begin() as session:
            await self.take(session, members, now)

    async def take(self, session: AsyncSession, members: list[str], now: datetime) -> None:
        """`reserve` inside the caller's transaction (a whole claimed batch is counted in one): a savepoint makes
        one message all or none without undoing the others."""
        async with session.begin_nested():
            for member in sorted(set(members)):  # one order everywhere: concurrent reservations cannot deadlock
                await self._take(session, member, now)

    async def take_many(self, session: AsyncSession, messages: list[list[str]], now: datetime) -> list[datetime | None]:
        """Counts a whole batch in the caller's transaction, in order: per message None when it was counted for
        all its members, else when to try again. One SELECT and one guarded upsert per member, not a savepoint
        and two statements per message (a batch of 50 held SQLite's one connection long enough to be felt by
        callbacks). The guard keeps the limit exact across replicas: a member another sender counted meanwhile
        is refused for this batch and tried again one bucket later."""
        current = bucket_of(now)
        members = sorted({m for message in messages for m in message})
        if not members:
            return [None] * len(messages)
        found = (await session.execute(select(SendQuota.member, SendQuota.window_start, SendQuota.count).where(
            SendQuota.member.in_(members), SendQuota.window_start >= current - HOUR,
            SendQuota.window_start <= current))).all()
        buckets: dict[str, list[tuple[datetime, int]]] = {m: [] for m in members}
        for member, start, count in found:
            buckets[member].append((start, count))
        cap: dict[str, int] = {}  # what the current bucket may hold, given the buckets before it
        room: dict[str, int] = {}
        retry: dict[str, datetime] = {}
        for member, rows in buckets.items():
            recent = [(start, count) for start, count in rows if start >= current - MINUTE and count > 0]
            hour_before = sum(count for start, count in rows if start < current)
            cap[member] = min(self.per_minute - sum(c for s, c in recent if s < current), self.per_hour - hour_before)
            room[member] = cap[member] - sum(count for start, count in rows if start == current)
            retry[member] = self._retry_at(recent, rows, current, hour_before)
        added = dict.fromkeys(members, 0)
        results: list[datetime | None] = []
        for message in messages:
            full = [m for m in set(message) if added[m] >= room[m]]
            if full:
                results.append(max(retry[m] for m in full))
                continue
            for member in set(message):
                added[member] += 1
            results.append(None)
        counting = {member: n for member, n in added.items() if n}
        fresh = {m: n for m, n in counting.items() if not any(start == current for start, _ in buckets[m])}
        opened = await self._open_buckets(session, current, fresh)
        lost = set()
        for member, n in counting.items():
            if member in opened:
                continue
            if await self._increment_by(session, member, current, n, cap[member]) is None:
                lost.add(member)  # another replica counted this member meanwhile
        if lost:
            later = current + timedelta(seconds=BUCKET_S)
            results = [later if result is None and lost & set(message) else result
                       for message, result in zip(messages, results, strict=True)]
        return results

    async def _open_buckets(self, session: AsyncSession, current: datetime, counts: dict[str, int]) -> set[str]:
        """Members whose current bucket did not exist yet, counted in one multi-row insert (a burst reaches many
        members once each); a bucket another replica opened meanwhile is left to the guarded upsert."""
        if not counts:
            return set()
        dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
        statement: Any = dialect.insert(SendQuota).values(
            [{"member": m, "window_start": current, "count": n} for m, n in counts.items()])
        statement = statement.on_conflict_do_nothing(index_elements=["member", "window_start"]).returning(
            SendQuota.member)
        return set((await session.execute(statement)).scalars())

    async def _increment_by(self, session: AsyncSession, member: str, current: datetime, n: int,
                            cap: int) -> int | None:
        """Adds n to the member's current bucket unless that would pass `cap`; None when it would."""
        dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
        statement: Any = dialect.insert(SendQuota).values(member=member, window_start=current, count=n)
        statement = statement.on_conflict_do_update(
            index_elements=["member", "window_start"], set_={"count": SendQuota.count + n},
            where=SendQuota.count + n <= cap).returning(SendQuota.count)
        return (await session.execute(statement)).scalar_one_or_none()

    async def _take(self, session: AsyncSession, member: str, now: datetime) -> None:
        current = bucket_of(now)
        rows = (await session.execute(select(SendQuota.window_start, SendQuota.count).where(
            SendQuota.member == member, SendQuota.window_start >= current - HOUR,
            SendQuota.window_start <= current))).all()
        recent = [(start, count) for start, count in rows if start >= current - MINUTE and count > 0]
        minute_before = sum(count for start, count in recent if start < current)
        hour_before = sum(count for start, count in rows if start < current)
        room = min(self.per_minute - minute_before, self.per_hour - hour_before)
        if room <= 0 or await self._increment(session, member, current, room) is None:
            raise OverQuota(member, self._retry_at(recent, rows, current, hour_before))

    async def _increment(self, session: AsyncSession, member: str, current: datetime, room: int) -> int | None:
        dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
        statement: Any = dialect.insert(SendQuota).values(member=member, window_start=current, count=1)
        statement = statement.on_conflict_do_update(
            index_elements=["member", "window_start"], set_={"count": SendQuota.count + 1},
            where=SendQuota.count < room).returning(SendQuota.count)
        return (await session.execute(statement)).scalar_one_or_none()

    def _retry_at(self, recent: list[tuple[datetime, int]], rows: list[Any], current: datetime,
                  hour_before: int) -> datetime:
        """When the oldest counted bucket stops counting (an hour's limit: a minute later, coarse but rare)."""
        if hour_before >= self.per_hour:
            return current + MINUTE
        oldest = min((start for start, _count in recent), default=current)
        return oldest + MINUTE + timedelta(seconds=BUCKET_S)

    async def purge(self, now: datetime) -> None:
        """Buckets older than an hour count for nothing."""
        async with self.sessions.begin() as session:
            await session.execute(delete(SendQuota).where(SendQuota.window_start < bucket_of(now) - HOUR))
