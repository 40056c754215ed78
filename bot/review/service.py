"""The review of one scope (plant or line) and month: everything the page, the chat answer, the XLSX and the
job show, built once from the features' own queries."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.kpi.scopes import Scope
from bot.models import Line
from bot.patrols.figures import Figures as PatrolFigures
from bot.review import activity, paretos
from bot.review.kpis import KpiLine, Window, compare, machine_rows, micro_stop_threshold, record_for
from bot.review.paretos import Bar
from bot.review.settings import ReviewSettings
from bot.settings import Settings
from bot.training.figures import Tally

MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


@dataclass
class Review:
    scope: Scope
    month: date  # its first day
    windows: dict[str, Window | None]
    records: dict[str, dict[str, Any] | None]
    kpis: list[KpiLine]
    downtime: list[Bar]
    scrap: list[Bar]
    worst_machines: list[dict[str, Any]]
    issues: activity.IssueCounts
    patrols: PatrolFigures
    training: list[Tally]
    adoption: activity.Adoption
    micro_stop_s: float
    complete: bool  # False while the month is still running
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.month:%Y-%m}"

    @property
    def has_data(self) -> bool:
        return self.records.get("this") is not None


def parse_month(text: str) -> date | None:
    """`2026-11` (or `2026-1`) → its first day; None for anything else."""
    found = MONTH.match(text.strip())
    if not found or not 1 <= int(found.group(2)) <= 12:
        return None
    return date(int(found.group(1)), int(found.group(2)), 1)


def previous_month(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


def month_window(settings: Settings, name: str, first: date) -> Window:
    start, end = settings.calendar.month_bounds(first)
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return Window(name, first, last, start, end)


def windows_for(settings: Settings, config: ReviewSettings, first: date) -> dict[str, Window | None]:
    baseline = config.baseline
    return {
        "this": month_window(settings, "this", first),
        "last": month_window(settings, "last", previous_month(first)),
        "last_year": month_window(settings, "last_year", first.replace(year=first.year - 1)),
        "baseline": Window("baseline", baseline[0], baseline[1], *settings.calendar.days_bounds(*baseline))
        if baseline else None,
    }


async def line_id_of(session: AsyncSession, scope: Scope) -> int | None:
    if scope.kind != "line":
        return None
    return await session.scalar(select(Line.id).where(Line.code == scope.code))


async def build_review(session: AsyncSession, settings: Settings, scope: Scope, first: date,
                       now: datetime) -> Review:
    config: ReviewSettings = settings.feature("review")
    windows = windows_for(settings, config, first)
    records = {name: (await record_for(session, settings, scope, w, now) if w else None)
               for name, w in windows.items()}
    this = windows["this"]
    assert this is not None
    line_id = await line_id_of(session, scope)
    micro = micro_stop_threshold(settings)
    downtime = paretos.bars(await paretos.downtime_minutes(session, this.start, this.end, now, line_id=line_id,
                                                           micro_stop_s=micro),
                            await paretos.downtime_names(session), config.top, "未填写原因")
    scrap_names = {r.code: r.name for r in settings.feature("reports").scrap_reasons}
    scrap = paretos.bars(await paretos.scrap_pieces(session, this.start, this.end, line_id=line_id),
                         scrap_names, config.top, "未填写原因")
    after = this.last + timedelta(days=1)
    review = Review(
        scope=scope, month=first, windows=windows, records=records, kpis=compare(records, config),
        downtime=downtime, scrap=scrap,
        worst_machines=await machine_rows(session, settings, scope, this, now, config.worst_machines),
        issues=await activity.issue_counts(session, this.start, this.end, after, line_id=line_id),
        patrols=await activity.patrols(session, this.start, this.end, line_id=line_id),
        training=await activity.training(session, settings, scope.code if scope.kind == "line" else None),
        adoption=await activity.adoption(session, this.start, this.end, line_id=line_id),
        micro_stop_s=micro, complete=now >= this.end)
    return review
