"""Reporting periods (window, shifts, plant-local days/weeks/months) and exact splitting on their edges."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time, timedelta

import numpy as np
import pandas as pd

from bot.kpi.inputs import KpiInputError

EVERY: tuple[str | None, ...] = (None, "shift", "day", "week", "month")
DEFAULT_SHIFTS: tuple[tuple[str, str, str], ...] = (("day", "08:00", "20:00"), ("night", "20:00", "08:00"))
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Periods:
    """Sorted, non-overlapping [start, end) periods in UTC nanoseconds; shift names when every='shift'."""

    start: np.ndarray
    end: np.ndarray
    shift: np.ndarray

    def __len__(self) -> int:
        return len(self.start)


def _local_ns(day: date, clock: time, tz: str) -> int:
    """Plant wall-clock time as UTC ns; a DST gap moves forward, a repeated hour takes the first pass."""
    stamp = pd.Timestamp.combine(day, clock).tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    return int(stamp.tz_convert("UTC").as_unit("ns").value)


def _parse_clock(text: str, shift: str) -> time:
    match = _CLOCK.match(str(text))
    if not match:
        raise KpiInputError(f"shift {shift!r}: {text!r} is not a HH:MM time")
    return time(int(match.group(1)), int(match.group(2)))


def _days(start_ns: int, end_ns: int, tz: str) -> list[date]:
    """Plant-local dates from the day before the window (a shift may start the evening before) to its end."""
    first = pd.Timestamp(start_ns, tz="UTC").tz_convert(tz).date() - timedelta(days=1)
    last = pd.Timestamp(end_ns, tz="UTC").tz_convert(tz).date()
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def _shift_periods(start_ns: int, end_ns: int, shifts: tuple[tuple[str, str, str], ...], tz: str) -> Periods:
    if not shifts:
        raise KpiInputError("the shift calendar is empty")
    parsed = []
    for entry in shifts:
        if len(entry) != 3:
            raise KpiInputError(f"a shift must be (name, 'HH:MM', 'HH:MM'), got {entry!r}")
        name, begin, finish = entry
        parsed.append((str(name), _parse_clock(begin, name), _parse_clock(finish, name)))
    rows = []
    for day in _days(start_ns, end_ns, tz):
        for name, begin, finish in parsed:
            finish_day = day + timedelta(days=1) if finish <= begin else day
            rows.append((_local_ns(day, begin, tz), _local_ns(finish_day, finish, tz), name))
    rows.sort()
    for (_, previous_end, previous), (next_start, _, following) in zip(rows, rows[1:], strict=False):
        if next_start < previous_end:
            raise KpiInputError(f"shifts {previous!r} and {following!r} overlap")
    return _clip([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], start_ns, end_ns)


def _calendar_periods(start_ns: int, end_ns: int, every: str, tz: str) -> Periods:
    days = _days(start_ns, end_ns, tz)
    days = [days[0] - timedelta(days=offset) for offset in range(31, 0, -1)] + days
    days.append(days[-1] + timedelta(days=1))
    if every == "week":
        days = [d for d in days if d.weekday() == 0]
    elif every == "month":
        days = [d for d in days if d.day == 1]
    edges = [_local_ns(d, time(0, 0), tz) for d in days]
    edges.append(_local_ns(_next_boundary(days[-1], every), time(0, 0), tz))
    return _clip(edges[:-1], edges[1:], [None] * (len(edges) - 1), start_ns, end_ns)


def _next_boundary(day: date, every: str) -> date:
    if every == "day":
        return day + timedelta(days=1)
    if every == "week":
        return day + timedelta(days=7)
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _clip(starts: list[int], ends: list[int], names: list, start_ns: int, end_ns: int) -> Periods:
    start = np.maximum(np.array(starts, dtype=np.int64), start_ns)
    end = np.minimum(np.array(ends, dtype=np.int64), end_ns)
    keep = end > start
    return Periods(start[keep], end[keep], np.array(names, dtype=object)[keep])


def build_periods(
    start_ns: int,
    end_ns: int,
    every: str | None,
    shifts: tuple[tuple[str, str, str], ...] | list | None,
    tz: str,
) -> Periods:
    """The reporting periods of a window; day/week/month edges are plant-local midnights."""
    if every not in EVERY:
        raise KpiInputError(f"every must be one of {EVERY}, got {every!r}")
    if end_ns <= start_ns:
        raise KpiInputError("the window must end after it starts")
    try:
        pd.Timestamp(start_ns, tz="UTC").tz_convert(tz)
    except Exception as exc:  # zoneinfo and pytz raise different types
        raise KpiInputError(f"unknown timezone {tz!r}") from exc
    if every is None:
        return Periods(np.array([start_ns]), np.array([end_ns]), np.array([None], dtype=object))
    if every == "shift":
        return _shift_periods(start_ns, end_ns, tuple(shifts or DEFAULT_SHIFTS), tz)
    return _calendar_periods(start_ns, end_ns, every, tz)


def split_on_periods(
    start: np.ndarray, end: np.ndarray, periods: Periods
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut intervals exactly at period edges: (interval index, period index, overlap ns) per piece > 0."""
    first = np.searchsorted(periods.end, start, side="right")
    counts = np.maximum(np.searchsorted(periods.start, end, side="left") - first, 0)
    row = np.repeat(np.arange(len(start)), counts)
    offset = np.arange(row.size) - np.repeat(np.cumsum(counts) - counts, counts)
    period = np.repeat(first, counts) + offset
    overlap = np.minimum(end[row], periods.end[period]) - np.maximum(start[row], periods.start[period])
    keep = overlap > 0
    return row[keep], period[keep], overlap[keep]


def locate(instants: np.ndarray, periods: Periods) -> np.ndarray:
    """Index of the period holding each instant, -1 when it falls outside every period."""
    index = np.searchsorted(periods.start, instants, side="right") - 1
    safe = np.clip(index, 0, max(len(periods) - 1, 0))
    inside = (index >= 0) & (instants < periods.end[safe]) if len(periods) else np.zeros(len(instants), bool)
    return np.where(inside, index, -1)
