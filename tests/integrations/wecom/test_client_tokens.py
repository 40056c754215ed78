"""TokenKeeper: early renewal, single flight, and no refetch when a peer already replaced a rejected token."""

from __future__ import annotations

import asyncio

import pytest

from integrations.wecom.tokens import CachedToken, MemoryTokenStore, TokenKeeper, TokenStore


class FakeWallClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class CountingFetcher:
    """Stands in for gettoken: numbered tokens, and a gate to hold fetches in flight."""

    def __init__(self, expires_in: float = 7200) -> None:
        self.calls = 0
        self.expires_in = expires_in
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self) -> tuple[str, float]:
        self.calls += 1
        await self.gate.wait()
        return f"t{self.calls}", self.expires_in


def keeper(store: TokenStore, fetch: CountingFetcher, clock: FakeWallClock) -> TokenKeeper:
    return TokenKeeper(store, "wecom:access_token:corp:1", fetch, clock=clock)


async def test_token_is_renewed_five_minutes_before_expiry() -> None:
    clock, fetch, store = FakeWallClock(), CountingFetcher(), MemoryTokenStore()
    tokens = keeper(store, fetch, clock)
    assert await tokens.get() == "t1"
    clock.now += 7200 - 301
    assert await tokens.get() == "t1"
    clock.now += 2
    assert await tokens.get() == "t2"
    assert fetch.calls == 2
    assert await store.load(tokens.key) == CachedToken("t2", clock.now + 7200)


async def test_concurrent_first_use_fetches_once() -> None:
    clock, fetch = FakeWallClock(), CountingFetcher()
    fetch.gate.clear()
    tokens = keeper(MemoryTokenStore(), fetch, clock)
    waiting = [asyncio.create_task(tokens.get()) for _ in range(20)]
    await asyncio.sleep(0)
    fetch.gate.set()
    assert set(await asyncio.gather(*waiting)) == {"t1"}
    assert fetch.calls == 1


async def test_concurrent_rejections_of_one_token_fetch_one_replacement() -> None:
    clock, fetch = FakeWallClock(), CountingFetcher()
    tokens = keeper(MemoryTokenStore(), fetch, clock)
    rejected = await tokens.get()
    replacements = await asyncio.gather(*(tokens.replace_rejected(rejected) for _ in range(10)))
    assert set(replacements) == {"t2"}
    assert fetch.calls == 2


async def test_rejected_token_already_replaced_by_another_process_is_not_refetched() -> None:
    clock, store = FakeWallClock(), MemoryTokenStore()
    ours, theirs = CountingFetcher(), CountingFetcher()
    mine = keeper(store, ours, clock)
    assert await mine.get() == "t1"
    await store.save(mine.key, CachedToken("theirs-new", clock.now + 7000))  # another replica refreshed
    assert await mine.replace_rejected("t1") == "theirs-new"
    assert ours.calls == 1 and theirs.calls == 0


async def test_force_refresh_replaces_even_a_fresh_stored_token() -> None:
    clock, store, fetch = FakeWallClock(), MemoryTokenStore(), CountingFetcher()
    await store.save("wecom:access_token:corp:1", CachedToken("stored", clock.now + 7000))
    tokens = keeper(store, fetch, clock)
    assert await tokens.get() == "stored"
    assert await tokens.get(force_refresh=True) == "t1"
    assert (
        await keeper(store, CountingFetcher(), clock).get(force_refresh=True) == "t1"
    )  # nothing held: fetch
    assert fetch.calls == 1


def test_memory_store_satisfies_the_protocol() -> None:
    assert isinstance(MemoryTokenStore(), TokenStore)


class ConfigFailure(Exception):
    pass


async def test_held_failure_is_replayed_without_fetching_until_the_hold_ends() -> None:
    clock, calls = FakeWallClock(), []

    async def failing() -> tuple[str, float]:
        calls.append(clock.now)
        raise ConfigFailure("bad secret")

    tokens = TokenKeeper(
        MemoryTokenStore(), "k", failing, clock=clock, hold_failures=(ConfigFailure,), hold_s=60
    )
    for _ in range(3):
        with pytest.raises(ConfigFailure):
            await tokens.get()
    assert len(calls) == 1
    clock.now += 61
    with pytest.raises(ConfigFailure):
        await tokens.get()
    assert len(calls) == 2


async def test_other_failures_are_not_held() -> None:
    clock, calls = FakeWallClock(), []

    async def flaky() -> tuple[str, float]:
        calls.append(1)
        raise OSError("network")

    tokens = TokenKeeper(MemoryTokenStore(), "k", flaky, clock=clock, hold_failures=(ConfigFailure,))
    for _ in range(2):
        with pytest.raises(OSError):
            await tokens.get()
    assert len(calls) == 2
