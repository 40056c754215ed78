"""Big read-only queries (a month at plant scale) run at once, each on a connection of its own, when that changes
nothing the caller could see: while its session holds no uncommitted writes, every other connection sees the same
committed rows (each query is consistent in itself; queries on different tables may see a write between them, as
two statements in READ COMMITTED would).

- SQLite file: worker threads with read-only connections (sqlite3 lets go of the GIL while it steps). Besides the
  two cores, this keeps the event loop free: SQLite calls otherwise run on the loop's thread (bot/sqlite_inline.py),
  and a month's scans would stop every chat for seconds.
- PostgreSQL (asyncpg, 13+): connections of the session's engine, one per query.
- Otherwise (memory databases, writes pending, other drivers): one after the other on the session's connection.

Rows come back as the driver's tuples: hundreds of thousands of SQLAlchemy rows cost more than the query. The
queries' values are rendered into their text, so they must hold only values the caller makes (window edges),
never user input."""
from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from typing import Any
from urllib.parse import quote

from sqlalchemy import Select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession


def _sql(session: AsyncSession, query: Select) -> str:
    return str(query.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}))


async def _driver(session: AsyncSession) -> Any:
    return (await (await session.connection()).get_raw_connection()).driver_connection


async def _on_session(session: AsyncSession, query: Select) -> list[tuple]:
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        cursor = await (await _driver(session)).execute(_sql(session, query))
        try:
            return list(await cursor.fetchall())
        finally:
            await cursor.close()
    if bind.dialect.driver == "asyncpg":
        return [tuple(record) for record in await (await _driver(session)).fetch(_sql(session, query))]
    return [tuple(row) for row in (await session.execute(query)).all()]


def _read_file(path: str, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=30)) as connection:
        return connection.execute(sql).fetchall()


async def _sqlite_file(session: AsyncSession) -> str | None:
    """The file other connections may read: none in memory, none while the session's connection holds writes."""
    path = session.get_bind().url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return None if (await _driver(session)).in_transaction else path


async def _postgres_engine(session: AsyncSession) -> AsyncEngine | None:
    """The engine to take more connections from, while the session's transaction has written nothing (it has no
    transaction id until it writes)."""
    engine = session.bind
    version = session.get_bind().dialect.server_version_info or (0,)
    if not isinstance(engine, AsyncEngine) or session.get_bind().dialect.driver != "asyncpg" or version < (13,):
        return None
    written = await session.scalar(text("SELECT pg_current_xact_id_if_assigned()"))
    return None if written is not None else engine


async def _on_own_connection(engine: AsyncEngine, sql: str) -> list[tuple]:
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        return [tuple(record) for record in await driver.fetch(sql)]  # type: ignore[union-attr]


async def fetch_all(session: AsyncSession, queries: list[Select]) -> list[list[tuple]]:
    """Each query's rows, in the order given (give the longest first: it starts first)."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite" and (path := await _sqlite_file(session)) is not None:
        return list(await asyncio.gather(*(asyncio.to_thread(_read_file, path, _sql(session, query))
                                           for query in queries)))
    if dialect == "postgresql" and (engine := await _postgres_engine(session)) is not None:
        return list(await asyncio.gather(*(_on_own_connection(engine, _sql(session, query)) for query in queries)))
    return [await _on_session(session, query) for query in queries]
