"""Who sees which KPIs: a scope (plant, a line, a machine), its people, and its figures for a window."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.kpi import to_json_records
from bot.kpi.service import kpis_from_db
from bot.models import Line, Machine, Role, User
from bot.people import holds, may, userids_with_roles
from bot.settings import Settings

PLANT_ROLES = {Role.MANAGER.value, Role.PM.value, Role.ADMIN.value}
PLANT_WORDS = {"全厂", "工厂", "plant", "all"}


@dataclass(frozen=True)
class Scope:
    kind: str  # plant | line | machine
    code: str = ""  # line or machine code; "" for the plant
    name: str = ""
    line: str = ""  # for a machine: its line's code (who may see it follows from the line)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.code}" if self.code else self.kind


async def scope_of_user(session: AsyncSession, user: User) -> Scope | None:
    """A manager sees the plant; a team lead their line; others (or a lead without a line) nothing."""
    if holds(user, *PLANT_ROLES):
        return Scope("plant")
    if holds(user, Role.TEAM_LEAD.value) and user.line_id is not None:
        line = await session.get(Line, user.line_id)
        if line is not None:
            return Scope("line", line.code, line.name)
    return None


async def resolve_scope(session: AsyncSession, text: str) -> Scope | None:
    """What `指标 X` names: the plant, a line (code or name) or a machine (code or name), case-insensitive;
    None when nothing matches. Codes win over names, lines over machines."""
    wanted = text.strip()
    if wanted.lower() in PLANT_WORDS:
        return Scope("plant")
    folded = wanted.lower()
    for column in (Line.code, Line.name):
        row = (await session.execute(select(Line.code, Line.name).where(func.lower(column) == folded)
                                     .order_by(Line.code).limit(1))).first()
        if row is not None:
            return Scope("line", row.code, row.name)
    for column in (Machine.code, Machine.name):
        row = (await session.execute(select(Machine.code, Machine.name, Line.code.label("line"))
                                     .join(Line, Machine.line_id == Line.id)
                                     .where(func.lower(column) == folded).order_by(Machine.code).limit(1))).first()
        if row is not None:
            return Scope("machine", row.code, row.name, row.line)
    return None


async def may_see(session: AsyncSession, user: User, scope: Scope) -> bool:
    """Managers, PMs and admins see everything; a team lead their own line and its machines; nobody else."""
    if may(user, PLANT_ROLES):
        return True
    if scope.kind == "plant" or not holds(user, Role.TEAM_LEAD.value) or user.line_id is None:
        return False
    own = await session.scalar(select(Line.code).where(Line.id == user.line_id))
    return own is not None and own == (scope.code if scope.kind == "line" else scope.line)


async def machine_count(session: AsyncSession, scope: Scope) -> int:
    """How many machines a scope sums over (their times add up: 2 machines without signal for an hour is 2 h)."""
    if scope.kind == "machine":
        return 1
    query = select(func.count()).select_from(Machine)
    if scope.kind == "line":
        query = query.join(Line, Machine.line_id == Line.id).where(Line.code == scope.code)
    return int(await session.scalar(query) or 0)


async def visible_lines(session: AsyncSession, user: User) -> list[Scope]:
    """The lines this user may ask for, to list when they named something unknown."""
    return [scope for scope in await line_scopes(session) if await may_see(session, user, scope)]


async def recipients(session: AsyncSession, scope: Scope) -> list[str]:
    """Managers for the plant; the team leads of the line (of the machine) otherwise."""
    if scope.kind == "plant":
        return sorted(await userids_with_roles(session, [Role.MANAGER.value]))
    line_code = scope.code
    if scope.kind == "machine":
        line_code = await session.scalar(select(Line.code).join(Machine, Machine.line_id == Line.id)
                                         .where(Machine.code == scope.code)) or ""
    line_id = await session.scalar(select(Line.id).where(Line.code == line_code))
    if line_id is None:
        return []
    return sorted(await userids_with_roles(session, [Role.TEAM_LEAD.value], line_id=line_id))


async def line_scopes(session: AsyncSession) -> list[Scope]:
    rows = (await session.execute(select(Line.code, Line.name).order_by(Line.code))).all()
    return [Scope("line", code, name) for code, name in rows]


def pick(frame: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    """The rows of one scope from a frame computed with by=scope.kind."""
    return frame if scope.kind == "plant" else frame[frame[scope.kind] == scope.code]


async def figures_for(session: AsyncSession, settings: Settings, scope: Scope, start: datetime, end: datetime,
                      now: datetime, every: str | None = None) -> list[dict[str, Any]]:
    """JSON-ready KPI records of one scope for [start, end) (one per period when `every` is given)."""
    frame = await kpis_from_db(session, settings, start=start, end=end, by=scope.kind, every=every, now=now)
    return to_json_records(pick(frame, scope))
