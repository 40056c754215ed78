"""When a checklist's rounds begin and how long each stays open, from the plant calendar (never by hand)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.patrols.definitions import WEEKDAYS, Checklist
from bot.plant_calendar import PlantCalendar, clock_of, local_instant

DEFAULT_GRACE = timedelta(hours=2)  # without end_min or a shift end, a round stays open 2 h after due


@dataclass(frozen=True)
class Slot:
    """One occurrence: the round's key is `start`; answers count from `opens`, it is late after `due` and
    missed (漏检) at `end`."""

    start: datetime
    opens: datetime
    due: datetime
    end: datetime

    @property
    def key(self) -> str:
        return self.start.strftime("%Y-%m-%dT%H:%MZ")


def _window(checklist: Checklist, start: datetime, shift_end: datetime | None) -> Slot:
    due = start + timedelta(minutes=checklist.due_min)
    if checklist.end_min:
        end = start + timedelta(minutes=checklist.end_min)
    else:
        end = max(due, shift_end) if shift_end else due + DEFAULT_GRACE
    return Slot(start, start + timedelta(minutes=checklist.start_min), due, end)


def slots_between(checklist: Checklist, calendar: PlantCalendar, after: datetime, until: datetime) -> list[Slot]:
    """Slots whose start lies in (after, until], by start."""
    if checklist.schedule == "shift":
        shifts = [s for s in calendar.slots_between(after, until + timedelta(seconds=1))
                  if after < s.start <= until and (not checklist.shifts or s.code in checklist.shifts)]
        return [_window(checklist, s.start, s.end) for s in shifts]
    first, last = calendar.day_of(after), calendar.day_of(until)
    starts: list[datetime] = []
    day = first
    while day <= last:
        if checklist.schedule == "daily":
            clocks = [clock_of(t) for t in checklist.times]
        elif checklist.schedule == "weekly":
            clocks = [clock_of(t) for t in checklist.times] if WEEKDAYS[day.weekday()] in checklist.days else []
        else:  # hourly: every N hours from plant midnight
            clocks = [clock_of(f"{h:02d}:00") for h in range(0, 24, checklist.every_hours)]
        starts += [local_instant(day, c, calendar.tz) for c in clocks]
        day += timedelta(days=1)
    return [_window(checklist, s, None) for s in sorted(set(starts)) if after < s <= until]
