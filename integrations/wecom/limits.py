"""WeCom's send limits enforced on our side, because beyond them WeCom drops messages silently."""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Awaitable, Callable, Iterable

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
_MIN_SLEEP_S = 0.001


class SlidingWindow:
    """At most `limit` events within any `window_s` seconds."""

    def __init__(self, limit: int, window_s: float) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s

    def delay(self, events: deque[float], now: float) -> float:
        """Seconds until one more event fits; `events` are ascending timestamps."""
        first_inside = bisect_right(events, now - self.window_s)
        inside = len(events) - first_inside
        if inside < self.limit:
            return 0.0
        must_leave = events[first_inside + inside - self.limit]
        return max(0.0, must_leave + self.window_s - now)


class SendLimiter:
    """Per-member minute/hour windows plus a global requests-per-second cap, for one WeCom app."""

    def __init__(
        self,
        *,
        per_member_per_minute: int = 30,
        per_member_per_hour: int = 1000,
        requests_per_second: int = 20,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._member_windows = (SlidingWindow(per_member_per_minute, 60.0),
                                SlidingWindow(per_member_per_hour, 3600.0))
        self._global_window = SlidingWindow(requests_per_second, 1.0)
        self._horizon_s = max(w.window_s for w in self._member_windows)
        self._clock = clock
        self._sleep = sleep
        self._members: dict[str, deque[float]] = {}
        self._requests: deque[float] = deque()
        self._next_sweep = float("-inf")

    def delay_for(self, recipients: Iterable[str]) -> float:
        """Seconds until these recipients may be sent to (0.0: now), so a queue can skip ahead."""
        now = self._clock()
        self._forget_before(now)
        delay = self._global_window.delay(self._requests, now)
        for member in set(recipients):
            events = self._members.get(member)
            if events:
                self._trim(events, now)
                delay = max(delay, *(w.delay(events, now) for w in self._member_windows))
        return delay

    async def acquire(self, recipients: Iterable[str]) -> None:
        """Wait until a request to these recipients is allowed, then count it against every window."""
        members = set(recipients)
        while (delay := self.delay_for(members)) > 0:
            await self._sleep(max(delay, _MIN_SLEEP_S))  # a floor, so float rounding cannot spin
        now = self._clock()
        self._requests.append(now)
        for member in members:
            self._members.setdefault(member, deque()).append(now)

    def _trim(self, events: deque[float], now: float) -> None:
        while events and events[0] <= now - self._horizon_s:
            events.popleft()

    def _forget_before(self, now: float) -> None:
        """Drop expired events; members are swept once a minute so memory tracks active members only."""
        while self._requests and self._requests[0] <= now - self._global_window.window_s:
            self._requests.popleft()
        if now < self._next_sweep:
            return
        self._next_sweep = now + 60.0
        for member in [m for m, ev in self._members.items() if not ev or ev[-1] <= now - self._horizon_s]:
            del self._members[member]
