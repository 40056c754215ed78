"""The plant calendar: shifts, plant-local days, weeks and months, and the one [plant] shifts setting."""
from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.plant_calendar import CalendarError, PlantCalendar, ShiftSettings, default_shifts, local_instant
from bot.settings_schema import SettingsError
from tests.conftest import make_settings

TZ = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
THREE = [ShiftSettings("A", "早班", "06:00", "14:00"), ShiftSettings("B", "中班", "14:00", "22:00"),
         ShiftSettings("C", "夜班", "22:00", "06:00")]


def at(*args: int, tz: ZoneInfo = TZ) -> datetime:
    return datetime(*args, tzinfo=tz).astimezone(UTC)


def test_days_weeks_and_months_are_plant_local() -> None:
    calendar = PlantCalendar(TZ, default_shifts())
    assert calendar.day_of(at(2026, 11, 3, 0, 30)) == date(2026, 11, 3)  # 16:30 UTC the day before
    assert calendar.day_bounds(date(2026, 11, 3)) == (at(2026, 11, 3), at(2026, 11, 4))
    assert calendar.week_bounds(date(2026, 11, 5)) == (at(2026, 11, 2), at(2026, 11, 9))  # Monday to Monday
    assert calendar.month_bounds(date(2026, 12, 31)) == (at(2026, 12, 1), at(2027, 1, 1))
    assert calendar.period_starts(date(2026, 11, 30), date(2026, 12, 2), "month") == [
        date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)]


def test_daylight_saving_days_are_23_and_25_hours_and_skipped_times_move_forward() -> None:
    calendar = PlantCalendar(BERLIN, default_shifts())
    start, end = calendar.day_bounds(date(2024, 3, 31))
    assert (end - start).total_seconds() == 23 * 3600
    start, end = calendar.day_bounds(date(2024, 10, 27))
    assert (end - start).total_seconds() == 25 * 3600
    skipped = local_instant(date(2024, 3, 31), datetime.strptime("02:30", "%H:%M").time(), BERLIN)
    assert skipped == datetime(2024, 3, 31, 1, 0, tzinfo=UTC)  # 03:00 CEST, as pandas' shift_forward


def test_shift_of_an_instant_night_shifts_and_overtime() -> None:
    calendar = PlantCalendar(TZ, THREE)
    night = calendar.shift_at(at(2026, 11, 4, 5, 59))
    assert (night.code, night.day, night.start, night.end) == ("C", date(2026, 11, 3), at(2026, 11, 3, 22),
                                                              at(2026, 11, 4, 6))
    assert [s.code for s in calendar.slots_between(at(2026, 11, 3, 5), at(2026, 11, 3, 15))] == ["C", "A", "B"]
    assert [s.code for s in calendar.ended_between(at(2026, 11, 3, 13), at(2026, 11, 3, 22, 5))] == ["A", "B"]
    assert calendar.shift_name("B") == "中班" and calendar.shift_name("X") == "X"


def test_overlapping_shifts_are_refused() -> None:
    with pytest.raises(CalendarError, match="overlap"):
        PlantCalendar(TZ, [ShiftSettings("a", "a", "06:00", "15:00"),
                           ShiftSettings("b", "b", "14:00", "22:00")]).shift_at(at(2026, 11, 3, 12))


def test_plant_shifts_setting_is_the_calendar_of_every_feature() -> None:
    settings = make_settings("sqlite+aiosqlite://", plant={"shifts": [
        {"code": s.code, "name": s.name, "start": s.start, "end": s.end} for s in THREE]})
    assert [s.code for s in settings.calendar.shifts] == ["A", "B", "C"]
    assert settings.calendar.engine_shifts()[0] == ("A", "06:00", "14:00")
    assert make_settings("sqlite+aiosqlite://").calendar.engine_shifts() == [("D", "08:00", "20:00"),
                                                                            ("N", "20:00", "08:00")]


def test_old_reports_shifts_still_work_with_a_deprecation_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.settings"):
        settings = make_settings("sqlite+aiosqlite://", reports={"shifts": [
            {"code": "A", "name": "早班", "start": "06:00", "end": "18:00"}]})
    assert settings.calendar.engine_shifts() == [("A", "06:00", "18:00")]
    assert "[reports] shifts is deprecated" in caplog.text


def test_two_calendars_or_bad_shifts_are_config_errors() -> None:
    one = [{"code": "A", "name": "早班", "start": "06:00", "end": "18:00"}]
    with pytest.raises(SettingsError) as caught:
        make_settings("sqlite+aiosqlite://", reports={"shifts": one}, plant={"shifts": one})
    assert any("keep only [[plant.shifts]]" in p for p in caught.value.problems)
    with pytest.raises(SettingsError) as caught:
        make_settings("sqlite+aiosqlite://", plant={"shifts": [
            {"code": "A", "name": "早班", "start": "6am", "end": "18:00"},
            {"code": "A", "name": "晚班", "start": "18:00", "end": "18:00"}]})
    problems = caught.value.problems
    assert "plant.shifts[0].start: HH:MM, got '6am'" in problems
    assert "plant.shifts[1]: start and end are equal" in problems
    assert "plant.shifts: codes must be unique" in problems
