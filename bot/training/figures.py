"""Training figures: the completion matrix (members × items), completion per role and line, the weekly
leaderboard per line and the line view team leads ask for in chat."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Line, User
from bot.models.training import TrainingProgress, TrainingView
from bot.training import progress as watch
from bot.training.catalog import Catalog, Item
from bot.training.service import status_of
from bot.training.settings import TrainingSettings


@dataclass(frozen=True)
class Cell:
    user: User
    line: str
    item: Item
    label: str
    done: bool


@dataclass(frozen=True)
class Tally:
    key: str  # an item code, a role or a line
    members: int
    done: int

    @property
    def percent(self) -> int:
        return self.done * 100 // self.members if self.members else 0


@dataclass(frozen=True)
class Leader:
    name: str
    minutes: float
    completed: int


async def _people(session: AsyncSession, line_code: str | None) -> tuple[list[User], dict[int, str]]:
    lines = dict((await session.execute(select(Line.id, Line.code))).tuples().all())
    query = select(User).where(User.active.is_(True)).order_by(User.line_id, User.name)
    users = [u for u in await session.scalars(query) if u.roles]
    if line_code is not None:
        users = [u for u in users if lines.get(u.line_id) == line_code]  # type: ignore[arg-type]
    return users, lines


async def matrix(session: AsyncSession, catalog: Catalog, settings: TrainingSettings,
                 line_code: str | None = None) -> list[list[Cell | None]]:
    """One row per member, one column per catalog item: the member's status, None where it is not for them."""
    users, lines = await _people(session, line_code)
    rows = {(p.user_id, p.code, p.version): p for p in await session.scalars(select(TrainingProgress))}
    table: list[list[Cell | None]] = []
    for user in users:
        line = lines.get(user.line_id, "")  # type: ignore[arg-type]
        cells: list[Cell | None] = []
        for item in catalog.items.values():
            if not set(user.roles) & set(item.roles) or not item.for_line(line or None):
                cells.append(None)
                continue
            status = status_of(item, "released", rows.get((user.id, item.code, item.version)), None, settings)
            cells.append(Cell(user, line, item, status.label, status.state == "done"))
        table.append(cells)
    return table


def tallies(table: list[list[Cell | None]], by: str) -> list[Tally]:
    """Completion per item, role or line over the matrix's cells."""
    counts: dict[str, list[int]] = {}
    for row in table:
        for cell in row:
            if cell is None:
                continue
            keys = {"item": [cell.item.code], "line": [cell.line or "-"],
                    "role": [r for r in cell.user.roles if r in cell.item.roles]}[by]
            for key in keys:
                entry = counts.setdefault(key, [0, 0])
                entry[0] += 1
                entry[1] += int(cell.done)
    return [Tally(key, members, done) for key, (members, done) in sorted(counts.items())]


async def leaderboard(session: AsyncSession, line_id: int, start: datetime, end: datetime,
                      limit: int = 10) -> list[Leader]:
    """Minutes actually played and items completed in [start, end) by the members of a line."""
    played = dict((await session.execute(
        select(TrainingView.user_id, func.sum(TrainingView.watched_s)).join(User, User.id == TrainingView.user_id)
        .where(User.line_id == line_id, TrainingView.opened_at >= start, TrainingView.opened_at < end)
        .group_by(TrainingView.user_id))).tuples().all())
    completed = dict((await session.execute(
        select(TrainingProgress.user_id, func.count()).join(User, User.id == TrainingProgress.user_id)
        .where(User.line_id == line_id, TrainingProgress.completed_at >= start, TrainingProgress.completed_at < end)
        .group_by(TrainingProgress.user_id))).tuples().all())
    ids = set(played) | set(completed)
    if not ids:
        return []
    names = dict((await session.execute(select(User.id, User.name).where(User.id.in_(ids)))).tuples().all())
    leaders = [Leader(names[i], round(float(played.get(i) or 0) / 60, 1), int(completed.get(i) or 0)) for i in ids]
    return sorted(leaders, key=lambda x: (-x.completed, -x.minutes, x.name))[:limit]


def percent_label(played_s: float, duration_s: float) -> str:
    return f"{watch.percent(played_s, duration_s)} %"
