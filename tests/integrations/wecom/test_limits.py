"""SendLimiter windows driven by a fake monotonic clock: no real sleeps."""

from __future__ import annotations

import asyncio

import pytest

from integrations.wecom.limits import SendLimiter


class FakeClock:
    """A monotonic clock whose sleep advances time instantly and records what was asked."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def limiter(clock: FakeClock, **limits: int) -> SendLimiter:
    return SendLimiter(clock=clock, sleep=clock.sleep, **limits)


async def test_thirty_per_member_per_minute_then_wait_for_the_oldest_to_leave() -> None:
    clock = FakeClock()
    limits = limiter(clock, requests_per_second=1000)
    for _ in range(30):
        assert limits.delay_for(["zhangsan"]) == 0
        await limits.acquire(["zhangsan"])
        clock.now += 0.5
    assert limits.delay_for(["zhangsan"]) == pytest.approx(45.0)  # first send at t0, now t0 + 15
    assert limits.delay_for(["lisi"]) == 0
    clock.now += 44.9
    assert limits.delay_for(["zhangsan"]) == pytest.approx(0.1)
    clock.now += 0.1
    assert limits.delay_for(["zhangsan"]) == 0


async def test_acquire_waits_exactly_until_allowed() -> None:
    clock = FakeClock()
    limits = limiter(clock, per_member_per_minute=2, requests_per_second=1000)
    await limits.acquire(["a"])
    await limits.acquire(["a", "b"])
    assert clock.slept == []
    start = clock.now
    await limits.acquire(["b", "a"])
    assert clock.now - start == pytest.approx(60.0)
    await limits.acquire(["a"])  # both t0 sends have left the window: one more fits at once
    assert clock.now - start == pytest.approx(60.0)
    assert limits.delay_for(["a"]) == pytest.approx(60.0)  # the two sends at t0 + 60 fill it again


async def test_thousand_per_member_per_hour() -> None:
    clock = FakeClock()
    limits = limiter(clock, requests_per_second=1000)
    start = clock.now
    for sent in range(1000):
        await limits.acquire(["wangwu"])
        if sent % 30 == 29:
            clock.now += 60  # stay under the minute window
    assert clock.slept == []
    minute_only = limiter(FakeClock(), per_member_per_hour=10**6, requests_per_second=1000)
    assert minute_only.delay_for(["wangwu"]) == 0
    assert limits.delay_for(["wangwu"]) == pytest.approx(start + 3600 - clock.now)
    assert limits.delay_for(["wangwu"]) > 60


async def test_global_requests_per_second_cap() -> None:
    clock = FakeClock()
    limits = limiter(clock, requests_per_second=5)
    for index in range(5):
        await limits.acquire([f"user{index}"])
    assert limits.delay_for(["somebody-else"]) == pytest.approx(1.0)
    assert limits.delay_for([]) == pytest.approx(1.0)
    await limits.acquire([])
    assert clock.slept == [pytest.approx(1.0)]


async def test_concurrent_acquirers_never_exceed_the_window() -> None:
    clock = FakeClock()
    limits = limiter(clock, per_member_per_minute=3, requests_per_second=1000)
    granted: list[float] = []

    async def send() -> None:
        await limits.acquire(["zhaoliu"])
        granted.append(clock.now)

    await asyncio.gather(*(send() for _ in range(9)))
    assert len(granted) == 9
    for at in granted:
        assert sum(1 for other in granted if at - 60 < other <= at) <= 3


async def test_idle_members_are_forgotten() -> None:
    clock = FakeClock()
    limits = limiter(clock)
    for index in range(100):
        await limits.acquire([f"user{index}"])
    clock.now += 3601
    limits.delay_for(["someone"])
    assert limits._members == {}


def test_invalid_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        SendLimiter(per_member_per_minute=0)
