"""The plant's shift calendar: which shift a moment belongs to, and which shifts ended in a window."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.reports.settings import ShiftSettings


@dataclass(frozen=True)
class ShiftSlot:
    """One occurrence of a shift: `day` is the plant-local date on which it started."""

    code: str
    name: str
    day: date
    start: datetime  # UTC
    end: datetime  # UTC


def _hm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _slot(shift: ShiftSettings, day: date, tz: ZoneInfo) -> ShiftSlot:
    start_local = datetime.combine(day, _hm(shift.start), tz)
    end_day = day + timedelta(days=1) if _hm(shift.end) <= _hm(shift.start) else day
    end_local = datetime.combine(end_day, _hm(shift.end), tz)
    return ShiftSlot(shift.code, shift.name, day, start_local.astimezone(UTC), end_local.astimezone(UTC))


def slots_around(shifts: list[ShiftSettings], moment: datetime, tz: ZoneInfo, days: int = 1) -> list[ShiftSlot]:
    """Every shift occurrence starting from `days` days before to `days` days after `moment`, by start."""
    local_day = moment.astimezone(tz).date()
    slots = [_slot(shift, local_day + timedelta(days=offset), tz)
             for offset in range(-days - 1, days + 1) for shift in shifts]
    return sorted(slots, key=lambda s: s.start)


def shift_at(shifts: list[ShiftSettings], moment: datetime, tz: ZoneInfo) -> ShiftSlot:
    """The shift that most recently started at `moment`; time in a gap between shifts counts as overtime
    of the shift before it, so every report has a shift."""
    started = [slot for slot in slots_around(shifts, moment, tz) if slot.start <= moment]
    return started[-1]


def ended_between(shifts: list[ShiftSettings], after: datetime, until: datetime, tz: ZoneInfo) -> list[ShiftSlot]:
    """Shift occurrences whose end lies in (after, until]."""
    return [slot for slot in slots_around(shifts, until, tz, days=2) if after < slot.end <= until]
