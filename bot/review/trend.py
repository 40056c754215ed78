"""The review's 12-month trend: each month computed exactly as the review's own month column is; a month
without data stays None, never zeros."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.kpi.scopes import Scope
from bot.models import WorkOrder
from bot.models.equipment import CounterDelta, DowntimeAlert, MachineState
from bot.models.reports import WorkReport
from bot.review.kpis import Window, record_for
from bot.settings import Settings

MONTHS = 12
TREND_KPIS = ("oee", "availability", "performance", "quality", "otd", "first_pass_yield")


@dataclass(frozen=True)
class TrendPoint:
    month: date  # first day
    record: dict[str, Any] | None  # the engine's record for the month, None without data

    @property
    def label(self) -> str:
        return f"{self.month:%Y-%m}"

    def value(self, kpi: str) -> float | None:
        return None if self.record is None else self.record.get(kpi)


def months_back(first: date, count: int) -> list[date]:
    """`count` month starts ending with `first`, oldest first."""
    out = []
    year, month = first.year, first.month
    for _ in range(count):
        out.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


async def monthly_trend(session: AsyncSession, settings: Settings, scope: Scope, first: date, now: datetime,
                        months: int = MONTHS,
                        known: dict[date, dict[str, Any] | None] | None = None) -> list[TrendPoint]:
    """Each month its own engine call, so a month in the trend is exactly that month's column (an event across a
    month's edge counts in each month it overlaps, as in any one-month figure); `known` months are not redone."""
    points = []
    quiet = await quiet_months(session)
    for month in months_back(first, months):
        if known is not None and month in known:
            points.append(TrendPoint(month, known[month]))
            continue
        start, end = settings.calendar.month_bounds(month)
        window = Window("trend", month, month, start, end)
        empty = await quiet(start, end)
        points.append(TrendPoint(month, None if empty else await record_for(session, settings, scope, window, now)))
    return points


async def quiet_months(session: AsyncSession) -> Callable[[datetime, datetime], Awaitable[bool]]:
    """A test for "this window has no data the engine could use": no state interval begins before its end and
    no report, order or alert falls in it. The earliest state is read once (states have no index on their start
    alone, so a window query scans them all: a dozen empty months cost seconds at plant scale); the others are
    index look-ups."""
    earliest = await session.scalar(select(func.min(MachineState.start_at)))

    async def quiet(start: datetime, end: datetime) -> bool:
        if earliest is not None and earliest < end:
            return False
        for column in (WorkReport.created_at, WorkOrder.due_at, DowntimeAlert.down_start, CounterDelta.start_at):
            if await session.scalar(select(column).where(column >= start, column < end).limit(1)) is not None:
                return False
        return True

    return quiet
