"""Reporting periods (window, shifts, plant-local days/weeks/months) and exact splitting on their edges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from bot.kpi.inputs import KpiInputError
from bot.plant_calendar import CalendarError, PlantCalendar, ShiftSettings, local_instant

EVERY: tuple[str | None, ...] = (None, "shift", "day", "week", "month")
DEFAULT_SHIFTS: tuple[tuple[str, str, str], ...] = (("day", "08:00", "20:00"), ("night", "20:00", "08:00"))


@dataclass(frozen=True)
class Periods:
    """Sorted, non-overlapping [start, end) periods in UTC nanoseconds; shift names when every='shift'."""

    start: np.ndarray
    end: np.ndarray
    shift: np.ndarray

    def __len__(self) -> int:
        return len(self.start)


def _ns(instant: datetime) -> int:
    return int(pd.Timestamp(instant).as_unit("ns").value)


def _calendar(shifts: tuple[tuple[str, str, str], ...], tz: str) -> PlantCalendar:
    if not shifts:
        raise KpiInputError("the shift calendar is empty")
    entries = []
    for entry in shifts:
        if len(entry) != 3:
            raise KpiInputError(f"a shift must be (name, 'HH:MM', 'HH:MM'), got {entry!r}")
        name, begin, finish = entry
        entries.append(ShiftSettings(str(name), str(name), str(begin), str(finish)))
    try:
        return PlantCalendar(ZoneInfo(tz), entries)
    except CalendarError as exc:
        raise KpiInputError(str(exc)) from None


def _window(start_ns: int, end_ns: int) -> tuple[datetime, datetime]:
    return (pd.Timestamp(start_ns, tz="UTC").to_pydatetime(), pd.Timestamp(end_ns, tz="UTC").to_pydatetime())


def _shift_periods(start_ns: int, end_ns: int, shifts: tuple[tuple[str, str, str], ...], tz: str) -> Periods:
    """Shift occurrences from the plant calendar, clipped to the window."""
    calendar = _calendar(shifts, tz)
    try:
        slots = calendar.slots_between(*_window(start_ns, end_ns))
    except CalendarError as exc:
        raise KpiInputError(str(exc)) from None
    return _clip([_ns(s.start) for s in slots], [_ns(s.end) for s in slots], [s.code for s in slots],
                 start_ns, end_ns)


def _calendar_periods(start_ns: int, end_ns: int, every: str, tz: str) -> Periods:
    """Plant-local days, weeks (from Monday) or months from the plant calendar, clipped to the window."""
    calendar = PlantCalendar(ZoneInfo(tz), [])
    first, last = (calendar.day_of(moment) for moment in _window(start_ns, end_ns))
    edges = [_ns(local_instant(day, time(0), calendar.tz)) for day in calendar.period_starts(first, last, every)]
    return _clip(edges[:-1], edges[1:], [None] * (len(edges) - 1), start_ns, end_ns)


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
