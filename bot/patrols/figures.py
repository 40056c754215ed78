"""Patrol figures: completion on time, missed rounds and NG rate per checklist, line and person, for chat,
`opsbot patrols status`, the KPI pushes and the monthly review (one query shape for all of them)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Line, User
from bot.models.patrols import PatrolAnswer, PatrolRound
from bot.settings import Settings


@dataclass
class Figures:
    name: str
    total: int = 0
    done: int = 0
    on_time: int = 0
    missed: int = 0
    skipped: int = 0
    open: int = 0
    answers: int = 0
    ng: int = 0

    @property
    def on_time_rate(self) -> float | None:
        counted = self.total - self.skipped
        return self.on_time / counted if counted else None

    @property
    def ng_rate(self) -> float | None:
        return self.ng / self.answers if self.answers else None


@dataclass
class StatusSummary(Figures):
    title: str = ""
    day: str = ""
    rows: list[Figures] = field(default_factory=list)


def _count(fig: Figures, row: PatrolRound, answers: int, ng: int) -> None:
    fig.total += 1
    fig.answers += answers
    fig.ng += ng
    if row.status == "done":
        fig.done += 1
        fig.on_time += bool(row.finished_at and row.finished_at <= row.due_at)
    elif row.status == "missed":
        fig.missed += 1
    elif row.status == "skipped":
        fig.skipped += 1
    else:
        fig.open += 1


async def figures(session: AsyncSession, start: datetime, end: datetime, *, by: str = "checklist",
                  line_id: int | None = None) -> tuple[Figures, list[Figures]]:
    """Totals and one row per checklist, line or person (`by`) for rounds whose slot began in [start, end)."""
    query = select(PatrolRound).where(PatrolRound.window_start >= start, PatrolRound.window_start < end)
    if line_id is not None:
        query = query.where(PatrolRound.line_id == line_id)
    rows = list(await session.scalars(query))
    ids = [r.id for r in rows]
    counts: dict[int, tuple[int, int]] = {}
    if ids:
        result = await session.execute(select(PatrolAnswer.round_id, func.count()).where(
            PatrolAnswer.round_id.in_(ids)).group_by(PatrolAnswer.round_id))
        counts = {rid: (n, 0) for rid, n in result}
        ng_rows = await session.execute(select(PatrolAnswer.round_id, func.count()).where(
            PatrolAnswer.round_id.in_(ids), PatrolAnswer.ng.is_(True)).group_by(PatrolAnswer.round_id))
        for rid, n in ng_rows:
            counts[rid] = (counts.get(rid, (0, 0))[0], n)
    names = await _names(session, rows, by)
    total, per = Figures("合计"), {}
    for row in rows:
        answers, ng = counts.get(row.id, (0, 0))
        _count(total, row, answers, ng)
        for key in _keys(row, by):
            _count(per.setdefault(key, Figures(names.get(key, key))), row, answers, ng)
    return total, sorted(per.values(), key=lambda f: f.name)


def _keys(row: PatrolRound, by: str) -> list[str]:
    if by == "line":
        return [str(row.line_id or "")]
    if by == "person":
        return list(row.assignees) or [""]
    return [row.checklist_code]


async def _names(session: AsyncSession, rows: list[PatrolRound], by: str) -> dict[str, str]:
    if by == "line":
        lines = await session.execute(select(Line.id, Line.code, Line.name))
        return {str(i): f"{c} {n}" for i, c, n in lines} | {"": "全厂"}
    if by == "person":
        users = await session.execute(select(User.wecom_userid, User.name))
        return {u: n or u for u, n in users}
    return {}


async def status_lines(session: AsyncSession, settings: Settings, now: datetime, *,
                       line_code: str | None = None) -> StatusSummary:
    """Today's rounds (plant-local day), per checklist; with a line code, that line only."""
    calendar = settings.calendar
    day = calendar.day_of(now)
    start, end = calendar.day_bounds(day)
    line_id, title = None, settings.plant.name
    if line_code:
        line = await session.scalar(select(Line).where(Line.code == line_code))
        if line is not None:
            line_id, title = line.id, f"{line.code} {line.name}"
    total, rows = await figures(session, start, end, line_id=line_id)
    summary = StatusSummary(**{k: getattr(total, k) for k in Figures.__dataclass_fields__})
    summary.title, summary.day, summary.rows = title, day.isoformat(), rows
    return summary
