"""Due dates typed in chat (`截止 12-05`, `2026-12-05`, `12月5日`, `3天`), read in the plant's calendar."""
from __future__ import annotations

import re
from datetime import date, timedelta

from bot.parsing import NumberRefused, parse_int

_DAYS = re.compile(r"(\d{1,3})\s*天")
_DATE = re.compile(r"(?:(\d{4})[-/.年])?(\d{1,2})[-/.月](\d{1,2})日?")
MAX_AHEAD_DAYS = 366


class DateRefused(ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def parse_due(text: str, today: date) -> date:
    """A day from today on; a month-day without a year is the next such day (12-05 typed in December)."""
    raw = text.strip()
    try:
        if raw in ("今天", "明天", "后天"):
            return today + timedelta(days=("今天", "明天", "后天").index(raw))
        if match := _DAYS.fullmatch(raw):
            return today + timedelta(days=parse_int(match.group(1), low=0, high=MAX_AHEAD_DAYS, what="天数"))
        match = _DATE.fullmatch(raw)
        if match is None:
            raise DateRefused(raw)
        month = parse_int(match.group(2), low=1, high=12, what="月")
        day_of_month = parse_int(match.group(3), low=1, high=31, what="日")
        year = parse_int(match.group(1), low=today.year, high=today.year + 1, what="年") if match.group(1) \
            else today.year
        day = date(year, month, day_of_month)
        if not match.group(1) and day < today:
            day = date(year + 1, month, day_of_month)
    except (NumberRefused, ValueError) as exc:
        if isinstance(exc, DateRefused):
            raise
        raise DateRefused(raw) from exc
    if not today <= day <= today + timedelta(days=MAX_AHEAD_DAYS):
        raise DateRefused(raw)
    return day
