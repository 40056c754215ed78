"""The plant's calendar: shifts, plant-local days, weeks (from Monday) and months, and which shift an instant is in.

Every feature asks this module, so a report's shift, a KPI period, an imported row, a patrol slot and a monthly
review agree on where a shift or a day begins. Instants are aware datetimes in UTC; dates are plant-local.
A wall-clock time that a daylight-saving jump skips moves forward to the end of the gap, and a repeated hour
takes its first pass (as pandas' `nonexistent="shift_forward", ambiguous=True`, which the KPI engine used).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


class CalendarError(ValueError):
    """A shift calendar that cannot be used (bad time, overlap, duplicate code); the message is for a person."""


@dataclass
class ShiftSettings:
    """One shift of the plant's calendar, in plant-local time; an end before the start crosses midnight."""

    code: str = "D"
    name: str = "白班"
    start: str = "08:00"
    end: str = "20:00"


def default_shifts() -> list[ShiftSettings]:
    return [ShiftSettings("D", "白班", "08:00", "20:00"), ShiftSettings("N", "夜班", "20:00", "08:00")]


@dataclass(frozen=True)
class ShiftSlot:
    """One occurrence of a shift: `day` is the plant-local date on which it started."""

    code: str
    name: str
    day: date
    start: datetime  # UTC
    end: datetime  # UTC


def clock_of(text: str, what: str = "time") -> time:
    match = HHMM.fullmatch(str(text))
    if not match:
        raise CalendarError(f"{what}: {text!r} is not a HH:MM time")
    return time(int(match.group(1)), int(match.group(2)))


def shift_problems(shifts: Sequence[ShiftSettings], where: str = "shifts") -> list[str]:
    """Every problem of a shift calendar, one line each, for the config loader."""
    problems = []
    if not shifts:
        problems.append(f"{where}: at least one shift")
    for i, shift in enumerate(shifts):
        for name in ("start", "end"):
            if not HHMM.fullmatch(getattr(shift, name)):
                problems.append(f"{where}[{i}].{name}: HH:MM, got {getattr(shift, name)!r}")
        if shift.start == shift.end:
            problems.append(f"{where}[{i}]: start and end are equal")
    if len({s.code for s in shifts}) != len(shifts):
        problems.append(f"{where}: codes must be unique")
    if not problems:
        try:
            PlantCalendar(ZoneInfo("UTC"), shifts).slots_between(datetime(2024, 1, 8, tzinfo=UTC),
                                                                 datetime(2024, 1, 10, tzinfo=UTC))
        except CalendarError as exc:
            problems.append(f"{where}: {exc}")
    return problems


def local_instant(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a plant wall-clock time."""
    naive = datetime.combine(day, clock)
    instant = naive.replace(tzinfo=tz).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == naive:
        return instant
    for minutes in range(1, 24 * 60):  # inside a skipped hour: the first wall-clock minute that exists
        later = naive + timedelta(minutes=minutes)
        instant = later.replace(tzinfo=tz).astimezone(UTC)
        if instant.astimezone(tz).replace(tzinfo=None) == later:
            return instant
    raise CalendarError(f"{naive} does not exist in {tz.key}")


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


class PlantCalendar:
    """Shift occurrences and plant-local day, week and month windows of one plant."""

    def __init__(self, tz: ZoneInfo, shifts: Iterable[ShiftSettings]) -> None:
        self.tz = tz
        self.shifts = list(shifts)
        self._clocks = [(s, clock_of(s.start, f"shift {s.code!r}"), clock_of(s.end, f"shift {s.code!r}"))
                        for s in self.shifts]

    # ---- days, weeks, months
    def day_of(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """[start, end) of a plant-local day, in UTC (23 or 25 hours across a daylight-saving change)."""
        return local_instant(day, time(0), self.tz), local_instant(day + timedelta(days=1), time(0), self.tz)

    def days_bounds(self, first: date, last: date) -> tuple[datetime, datetime]:
        """[start of `first`, end of `last`) in UTC."""
        return self.day_bounds(first)[0], self.day_bounds(last)[1]

    def week_bounds(self, day: date) -> tuple[datetime, datetime]:
        """The Monday-to-Sunday week holding `day`."""
        monday = day - timedelta(days=day.weekday())
        return self.days_bounds(monday, monday + timedelta(days=6))

    def month_bounds(self, day: date) -> tuple[datetime, datetime]:
        first = day.replace(day=1)
        return local_instant(first, time(0), self.tz), local_instant(next_month(first), time(0), self.tz)

    def period_starts(self, first: date, last: date, every: str) -> list[date]:
        """Plant-local dates on which a day/week/month starts, from the one holding `first` through `last`,
        plus the start of the next one (so consecutive pairs are the periods)."""
        if every == "day":
            start, step = first, lambda d: d + timedelta(days=1)
        elif every == "week":
            start, step = first - timedelta(days=first.weekday()), lambda d: d + timedelta(days=7)
        elif every == "month":
            start, step = first.replace(day=1), next_month
        else:
            raise CalendarError(f"every must be day, week or month, got {every!r}")
        out = [start]
        while out[-1] <= last:
            out.append(step(out[-1]))
        return out

    # ---- shifts
    def slot(self, shift: ShiftSettings, day: date) -> ShiftSlot:
        _, begin, finish = next(entry for entry in self._clocks if entry[0] is shift or entry[0] == shift)
        end_day = day + timedelta(days=1) if finish <= begin else day
        return ShiftSlot(shift.code, shift.name, day, local_instant(day, begin, self.tz),
                         local_instant(end_day, finish, self.tz))

    def slots_on(self, days: Iterable[date]) -> list[ShiftSlot]:
        """Every shift occurrence starting on these plant-local days, by start; overlapping shifts are refused."""
        slots = sorted((self.slot(shift, day) for day in days for shift in self.shifts), key=lambda s: s.start)
        for before, after in zip(slots, slots[1:], strict=False):
            if after.start < before.end:
                raise CalendarError(f"shifts {before.code!r} and {after.code!r} overlap")
        return slots

    def slots_between(self, start: datetime, end: datetime) -> list[ShiftSlot]:
        """Shift occurrences that overlap [start, end), by start (a shift may begin the evening before)."""
        first, last = self.day_of(start) - timedelta(days=1), self.day_of(end)
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        return [s for s in self.slots_on(days) if s.end > start and s.start < end]

    def slots_around(self, instant: datetime, days: int = 1) -> list[ShiftSlot]:
        """Every shift occurrence starting from `days` days before to `days` days after `instant`, by start."""
        local_day = self.day_of(instant)
        return self.slots_on(local_day + timedelta(days=offset) for offset in range(-days - 1, days + 1))

    def shift_at(self, instant: datetime) -> ShiftSlot:
        """The shift that most recently started at `instant`; time in a gap between shifts counts as overtime
        of the shift before it, so every report has a shift."""
        return [slot for slot in self.slots_around(instant) if slot.start <= instant][-1]

    def ended_between(self, after: datetime, until: datetime) -> list[ShiftSlot]:
        """Shift occurrences whose end lies in (after, until]."""
        span = max(2, (until - after).days + 2)
        return [slot for slot in self.slots_around(until, days=span) if after < slot.end <= until]

    def shift_name(self, code: str | None) -> str:
        return next((s.name for s in self.shifts if s.code == code), code or "")

    def engine_shifts(self) -> list[tuple[str, str, str]]:
        """Shifts in the KPI engine's (code, start, end) form."""
        return [(s.code, s.start, s.end) for s in self.shifts]
