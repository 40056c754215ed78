"""Credential caching shared across processes, so gettoken (rate limited by WeCom) is called rarely."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

REFRESH_MARGIN_S = 300.0


@dataclass(frozen=True)
class CachedToken:
    """A credential and its absolute expiry in unix seconds (wall clock, comparable across processes)."""

    value: str
    expires_at: float


@runtime_checkable
class TokenStore(Protocol):
    """Where tokens live; the bot supplies a database-backed store so every replica shares one token."""

    async def load(self, key: str) -> CachedToken | None: ...

    async def save(self, key: str, token: CachedToken) -> None: ...


class MemoryTokenStore:
    """A per-process store for tests and single-process runs."""

    def __init__(self) -> None:
        self._tokens: dict[str, CachedToken] = {}

    async def load(self, key: str) -> CachedToken | None:
        """Return the stored token, expired or not; freshness is the keeper's decision."""
        return self._tokens.get(key)

    async def save(self, key: str, token: CachedToken) -> None:
        """Replace the token under key."""
        self._tokens[key] = token


Fetcher = Callable[[], Awaitable[tuple[str, float]]]  # returns (value, expires_in seconds)
Usable = Callable[[CachedToken | None], bool]


class LockingTokenStore(Protocol):
    """A store that can serialise refreshes across processes (the bot's database store does): `refresh` returns
    the stored token if `usable` accepts it, else calls `fetch` and stores the result, all under one lock, so N
    replicas whose token expired together make one gettoken (and one ticket call: WeCom caps tickets per hour)."""

    async def refresh(self, key: str, usable: Usable, fetch: Callable[[], Awaitable[CachedToken]]) -> CachedToken: ...


class TokenKeeper:
    """One cached credential: single-flight refresh, early renewal, no refetch if a peer already did."""

    def __init__(
        self,
        store: TokenStore,
        key: str,
        fetch: Fetcher,
        *,
        refresh_margin_s: float = REFRESH_MARGIN_S,
        clock: Callable[[], float] = time.time,
        hold_failures: tuple[type[Exception], ...] = (),
        hold_s: float = 60.0,
    ) -> None:
        self._store = store
        self._key = key
        self._fetch = fetch
        self._margin = refresh_margin_s
        self._clock = clock
        self._lock = asyncio.Lock()
        self._current: CachedToken | None = None
        self._hold_failures, self._hold_s = hold_failures, hold_s
        self._held: tuple[float, Exception] | None = None  # (until, error): fail fast, do not ask again

    @property
    def key(self) -> str:
        """The store key, which names the corp and agent but never the secret."""
        return self._key

    def _fresh(self, token: CachedToken | None) -> bool:
        return token is not None and self._clock() < token.expires_at - self._margin

    async def get(self, *, force_refresh: bool = False) -> str:
        """Return a usable credential; with force_refresh, one other than the credential held now."""
        if not force_refresh and self._fresh(self._current):
            assert self._current is not None
            return self._current.value
        held = self._current.value if self._current is not None else None
        return await self._refresh(stale=held, force=force_refresh)

    def peek(self) -> str | None:
        """The credential held in memory if still fresh, without any I/O (for callers inside a transaction)."""
        return self._current.value if self._fresh(self._current) else None

    async def replace_rejected(self, rejected: str) -> str:
        """WeCom refused `rejected`: return a different credential, fetching one only if no peer has."""
        return await self._refresh(stale=rejected, force=True)

    async def _refresh(self, *, stale: str | None, force: bool) -> str:
        async with self._lock:
            current = self._current
            if force:
                if current is not None and current.value != stale and self._fresh(current):
                    return current.value  # another task replaced it while we waited for the lock
                if stale is not None:
                    stored = await self._store.load(self._key)
                    if stored is not None and stored.value != stale and self._fresh(stored):
                        self._current = stored  # another process already replaced it
                        return stored.value
            else:
                if self._fresh(current):
                    assert current is not None
                    return current.value
                stored = await self._store.load(self._key)
                if self._fresh(stored):
                    assert stored is not None
                    self._current = stored
                    return stored.value
            if self._held is not None and self._clock() < self._held[0]:
                raise self._held[1]

            def usable(token: CachedToken | None) -> bool:  # what a peer stored while we waited for its lock
                return self._fresh(token) and not (force and (stale is None or token.value == stale))  # type: ignore[union-attr]

            try:
                locking = getattr(self._store, "refresh", None)
                if locking is not None:
                    token = await locking(self._key, usable, self._fetch_new)
                else:
                    token = await self._fetch_new()
                    await self._store.save(self._key, token)
            except self._hold_failures as error:
                self._held = (self._clock() + self._hold_s, error)
                raise
            self._held = None
            self._current = token
            return token.value

    async def _fetch_new(self) -> CachedToken:
        value, expires_in = await self._fetch()
        return CachedToken(value=value, expires_at=self._clock() + float(expires_in))
