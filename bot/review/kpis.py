"""The review's KPI table: this month against last month, the same month last year, the baseline and the
targets, each change with whether it moved the right way. A period without data is None, never zeros."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.kpi import to_json_records
from bot.kpi.scopes import Scope, pick
from bot.kpi.service import kpi_settings, kpis_from_db
from bot.review.settings import LOWER_IS_BETTER, REVIEW_KPIS, ReviewSettings
from bot.settings import Settings

COLUMNS: tuple[str, ...] = ("this", "last", "last_year", "baseline")


@dataclass(frozen=True)
class Window:
    """A named period in plant time: [start, end) in UTC, with its first and last plant-local day."""

    name: str
    first: date
    last: date
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Change:
    delta: float | None
    verdict: str | None  # better | worse | same; None when either side has no value

    @property
    def right_way(self) -> bool | None:
        return None if self.verdict is None else self.verdict != "worse"


@dataclass
class KpiLine:
    kpi: str
    values: dict[str, float | None]
    target: float | None
    changes: dict[str, Change] = field(default_factory=dict)  # vs last, last_year, baseline
    meets_target: bool | None = None


def has_data(record: dict[str, Any] | None) -> bool:
    """Planned time, output or orders due: a month with none of them is missing data, not a month of zeros."""
    return bool(record) and any(record.get(k) for k in ("planned_s", "total", "orders_due", "down_events"))


def change(kpi: str, now: float | None, before: float | None) -> Change:
    if now is None or before is None:
        return Change(None, None)
    delta = now - before
    if abs(delta) < 1e-12:
        return Change(0.0, "same")
    better = delta < 0 if kpi in LOWER_IS_BETTER else delta > 0
    return Change(delta, "better" if better else "worse")


def meets(kpi: str, value: float | None, target: float | None) -> bool | None:
    if value is None or target is None:
        return None
    return value <= target if kpi in LOWER_IS_BETTER else value >= target


def compare(records: dict[str, dict[str, Any] | None], config: ReviewSettings) -> list[KpiLine]:
    lines = []
    for kpi in REVIEW_KPIS:
        values = {name: (rec or {}).get(kpi) for name, rec in records.items()}
        line = KpiLine(kpi, values, config.target(kpi))
        line.changes = {name: change(kpi, values.get("this"), values.get(name)) for name in COLUMNS[1:]}
        line.meets_target = meets(kpi, values.get("this"), line.target)
        lines.append(line)
    return lines


async def record_for(session: AsyncSession, settings: Settings, scope: Scope, window: Window,
                     now: datetime) -> dict[str, Any] | None:
    """The scope's one KPI record for the window (as the KPI engine defines it), None without data."""
    if window.start >= now:
        return None
    frame = await kpis_from_db(session, settings, start=window.start, end=window.end, by=scope.kind, now=now)
    rows = to_json_records(pick(frame, scope))
    return rows[0] if rows and has_data(rows[0]) else None


def micro_stop_threshold(settings: Settings) -> float:
    return float(kpi_settings(settings).micro_stop_threshold_s)
