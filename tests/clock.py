"""The bot's clock in tests: time moves only when the test says so, never by sleeping (a test that waits on the
wall clock is slow, and fails under load)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass
class StoppedClock:
    """Stands still at `now` until `advance` (for code whose every instant comes from the clock)."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


class MovingClock:
    """The wall clock plus `offset`, which the test moves instead of sleeping through an undo window or a login's
    lifetime (for a stack whose sandbox, sender and cookies run on real time)."""

    def __init__(self) -> None:
        self.offset = timedelta()
        self._base = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self._base + self.offset

    def start_at_plant_time(self, moment: time, tz: str = "Asia/Shanghai") -> None:
        """From now on it reads `moment` of today in the plant (then runs on), so a test that moves it an hour or
        two never crosses the plant's midnight, whenever the suite runs."""
        local = datetime.now(ZoneInfo(tz))
        self._base = datetime.combine(local.date(), moment, local.tzinfo) - local
