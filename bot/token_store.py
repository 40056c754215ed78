"""WeCom tokens in the database, so every replica shares one token instead of each calling gettoken.

A refresh runs under a transaction-scoped advisory lock on PostgreSQL (`pg_advisory_xact_lock`, which works
through PgBouncer's transaction pooling, unlike session locks): the first replica fetches and stores, the others
wait on the lock and then find the fresh token. SQLite serves one process, where the keeper's own lock suffices
(and holding SQLite's single connection across an HTTP call would stall every other query).
"""
from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import ApiToken
from integrations.wecom.tokens import CachedToken, Usable

LOCK_SPACE = 0x0B07  # first key of the two-key advisory lock: "tokens", apart from anyone else's locks


class DatabaseTokenStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], on_fetch: Callable[[str], None] | None = None
                 ) -> None:
        self.sessions = sessions
        self.on_fetch = on_fetch  # told the key of every credential this process fetched (metrics)
        bind = sessions.kw.get("bind")
        self.postgres = bind is not None and bind.dialect.name == "postgresql"

    async def load(self, key: str) -> CachedToken | None:
        async with self.sessions() as session:
            row = await session.get(ApiToken, key)
            return CachedToken(row.value, row.expires_at) if row else None

    async def save(self, key: str, token: CachedToken) -> None:
        async with self.sessions.begin() as session:
            await self._store(session, key, token)

    async def refresh(self, key: str, usable: Usable, fetch: Callable[[], Awaitable[CachedToken]]) -> CachedToken:
        """The stored token if usable, else one fetch for all replicas (see the module docstring)."""
        if not self.postgres:
            stored = await self.load(key)
            if usable(stored):
                assert stored is not None
                return stored
            token = await fetch()
            await self.save(key, token)
        else:
            async with self.sessions.begin() as session:
                await session.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"),
                                      {"space": LOCK_SPACE, "key": zlib.crc32(key.encode()) - 2**31})
                row = await session.get(ApiToken, key)
                stored = CachedToken(row.value, row.expires_at) if row else None
                if usable(stored):
                    assert stored is not None
                    return stored
                token = await fetch()
                await self._store(session, key, token)
        if self.on_fetch is not None:
            self.on_fetch(key)
        return token

    @staticmethod
    async def _store(session: AsyncSession, key: str, token: CachedToken) -> None:
        row = await session.get(ApiToken, key)
        if row is None:
            session.add(ApiToken(key=key, value=token.value, expires_at=token.expires_at))
        else:
            row.value, row.expires_at = token.value, token.expires_at
