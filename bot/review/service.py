"""The review of one scope (plant or line) and month: everything the page, the chat answer, the XLSX and the
job show, built once from the features' own queries."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.kpi.data import KpiFrames
from bot.kpi.scopes import Scope
from bot.kpi.summed import ReportFacts, scrap_pieces
from bot.models import Line
from bot.patrols.figures import Figures as PatrolFigures
from bot.review import activity, month, paretos
from bot.review.definitions import DefinitionNote, definition_notes
from bot.review.kpis import KpiLine, Window, compare, micro_stop_threshold, record_for
from bot.review.paretos import Bar
from bot.review.settings import ReviewSettings
from bot.review.trend import TrendPoint, monthly_trend, quiet_months
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
    trend: list[TrendPoint] = field(default_factory=list)
    definition_notes: dict[str, list[DefinitionNote]] = field(default_factory=dict)  # kpi → footnotes
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


def downtime_bars(settings: Settings, frames: KpiFrames | None, window: Window, now: datetime, scope: Scope,
                  reason_names: dict[str, str]) -> list[Bar]:
    if frames is None:
        return []
    config: ReviewSettings = settings.feature("review")
    minutes = month.downtime_minutes(frames, window, now, line=scope.code if scope.kind == "line" else None,
                                     micro_stop_s=micro_stop_threshold(settings))
    names = {r.code: r.name for r in settings.feature("equipment").reasons}  # the configured reasons, then the table
    return paretos.bars(minutes, names | reason_names, config.top, "未填写原因")


async def scrap_bars(session: AsyncSession, settings: Settings, window: Window, line_id: int | None,
                     facts: ReportFacts | None = None) -> list[Bar]:
    """From the month's grouped reports when loaded, else one SQL aggregate; the same pieces either way."""
    config: ReviewSettings = settings.feature("review")
    names = {r.code: r.name for r in settings.feature("reports").scrap_reasons}
    pieces = (scrap_pieces(facts) if facts is not None
              else await paretos.scrap_pieces(session, window.start, window.end, line_id=line_id))
    return paretos.bars(pieces, names, config.top, "未填写原因")


async def build_review(session: AsyncSession, settings: Settings, scope: Scope, first: date,
                       now: datetime) -> Review:
    """The month's inputs are loaded once (record, machines, Pareto); every other column and trend month is its
    own engine call, as `kpis_from_db` would make it."""
    config: ReviewSettings = settings.feature("review")
    windows = windows_for(settings, config, first)
    this = windows["this"]
    assert this is not None
    inputs = await load_month(session, settings, this, now)
    frames = inputs.frames if inputs else None
    facts = inputs.line_facts(scope.code if scope.kind == "line" else None) if inputs else None
    records: dict[str, dict[str, Any] | None] = {
        "this": month.record(frames, settings, scope, this) if frames else None}
    trend = await monthly_trend(session, settings, scope, first, now, known={first: records["this"]})
    records["last"] = trend[-2].record
    quiet = await quiet_months(session)
    for name in ("last_year", "baseline"):
        window = windows[name]
        records[name] = (await record_for(session, settings, scope, window, now)
                         if window and not await quiet(window.start, window.end) else None)
    line_id = await line_id_of(session, scope)
    after = this.last + timedelta(days=1)
    return Review(
        scope=scope, month=first, windows=windows, records=records, kpis=compare(records, config),
        downtime=downtime_bars(settings, frames, this, now, scope, await paretos.downtime_names(session)),
        scrap=await scrap_bars(session, settings, this, line_id, facts),
        worst_machines=month.worst_machines(frames, settings, scope, this, config.worst_machines) if frames else [],
        issues=await activity.issue_counts(session, this.start, this.end, after, line_id=line_id),
        patrols=await activity.patrols(session, this.start, this.end, line_id=line_id),
        training=await activity.training(session, settings, scope.code if scope.kind == "line" else None),
        adoption=await activity.adoption(session, this.start, this.end, line_id=line_id, facts=facts),
        micro_stop_s=micro_stop_threshold(settings), complete=now >= this.end, trend=trend,
        definition_notes=definition_notes(config.definition_changes, windows,
                                          {name for name, rec in records.items() if rec is not None}))


async def load_month(session: AsyncSession, settings: Settings, window: Window,
                     now: datetime) -> month.MonthInputs | None:
    """The window's KPI inputs; None for a month that has not begun."""
    return None if window.start >= now else await month.load(session, settings, window, now)
