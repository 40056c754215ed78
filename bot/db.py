"""Async engine and sessions; SQLite is tuned for many small transactions, other backends are left as they are."""
from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, event, select
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from bot.sqlite_inline import inline_creator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Stores UTC and always returns aware datetimes, because SQLite forgets the offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime()}


# How long a lock may keep a group-commit batch (several callbacks in one transaction) waiting; see `lock_row`.
BATCH_LOCK_TIMEOUT_MS = 250


def utcnow() -> datetime:
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")  # inline calls: a long wait would stall the event loop
    cursor.close()


def make_engine(url: str, *, idle_ping_s: float = 10.0, **kwargs: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        db_path = url.split("///", 1)[-1]
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        # One connection: SQLite has one writer anyway, and queueing in the pool is far cheaper than
        # SQLite's busy-wait sleeps when several connections race for the write lock.
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        kwargs.setdefault("pool_timeout", 60)
        kwargs.setdefault("connect_args", {})["async_creator_fn"] = inline_creator
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(url, **kwargs)
    _ping_when_idle(engine, idle_ping_s)
    return engine


def _ping_when_idle(engine: AsyncEngine, idle_s: float) -> None:
    """A pooled connection idle for `idle_s` is pinged before use, so one a database restart (or a proxy's idle
    cut) left dead is replaced instead of failing a callback. Not on every checkout (`pool_pre_ping`): that is two
    round trips per transaction, a third of a scan report's on PostgreSQL, and a busy connection was just used."""
    dialect = engine.sync_engine.dialect

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("checked_in_at")
        if since is None or time.monotonic() - since < idle_s:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool drops this connection and checks out another
            raise DisconnectionError("pooled connection is dead") from exc


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def lock_row(session: AsyncSession, column: Any, value: Any) -> None:
    """Locks one row for the rest of the transaction (PostgreSQL; SQLite has one writer anyway).

    Inside a group-commit batch a lock wait is bounded by the batch's `lock_timeout` (BATCH_LOCK_TIMEOUT_MS, set
    by bot/inbound.py): batches touching the same hot row (ten work orders, 3,000 operators) queue behind each
    other instead of failing, and two batches that wait on each other fail one of them quickly, after which the
    core redoes each of its callbacks alone, where waiting is safe. (NOWAIT failed nearly every batch in a burst,
    and redoing them alone doubled the work just when there was most of it.)"""
    await session.execute(select(column).where(column == value).with_for_update())
