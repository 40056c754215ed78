"""aiosqlite without its thread: for SQLite each call takes microseconds, far less than the hop to a worker
thread and back, which under load dominated every transaction. Calls run on the event loop's thread."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Generator
from functools import partial
from typing import Any

import aiosqlite


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite.Connection whose calls run in place; SQLAlchemy's aiosqlite dialect uses it unchanged."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()


def inline_creator(database: str, **kwargs: Any) -> InlineConnection:
    """Called by SQLAlchemy with the URL's connect arguments (`async_creator_fn`)."""
    return InlineConnection(partial(sqlite3.connect, database, **kwargs))
