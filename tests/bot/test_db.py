"""Pooled connections after the database dropped them: an idle one is pinged and replaced, a busy one is not."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.db import make_engine

pytestmark = pytest.mark.db


async def _backend_pid_after_kill(url: str, idle_ping_s: float) -> tuple[int, int]:
    """Uses a pooled connection, has PostgreSQL terminate it (as a restart would), then uses the pool again."""
    engine = make_engine(url, idle_ping_s=idle_ping_s, pool_size=1, max_overflow=0)
    killer = make_engine(url)
    try:
        async with engine.connect() as conn:
            first = int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        async with killer.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        async with engine.connect() as conn:
            second = int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        return first, second
    finally:
        await engine.dispose()
        await killer.dispose()


async def test_an_idle_connection_the_database_dropped_is_replaced(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL terminates backends; SQLite has none")
    first, second = await _backend_pid_after_kill(db_url, idle_ping_s=0.0)
    assert second != first


async def test_without_the_idle_ping_the_dead_connection_fails_the_next_use(db_url: str) -> None:
    """The counterpart that shows the ping is what saves the first test (a connection just used is not pinged)."""
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL terminates backends; SQLite has none")
    with pytest.raises(DBAPIError):
        await _backend_pid_after_kill(db_url, idle_ping_s=3600.0)
