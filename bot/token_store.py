"""WeCom tokens in the database, so every process shares one token instead of each calling gettoken."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import ApiToken
from integrations.wecom.tokens import CachedToken


class DatabaseTokenStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def load(self, key: str) -> CachedToken | None:
        async with self.sessions() as session:
            row = await session.get(ApiToken, key)
            return CachedToken(row.value, row.expires_at) if row else None

    async def save(self, key: str, token: CachedToken) -> None:
        async with self.sessions.begin() as session:
            row = await session.get(ApiToken, key)
            if row is None:
                session.add(ApiToken(key=key, value=token.value, expires_at=token.expires_at))
            else:
                row.value, row.expires_at = token.value, token.expires_at
