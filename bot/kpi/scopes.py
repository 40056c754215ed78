"""Who sees which KPIs: a scope (plant, a line, a machine), its people, and its figures for a window."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.kpi import to_json_records
from bot.kpi.service import kpis_from_db
from bot.models import Line, Machine, Role, User
from bot.settings import Settings

PLANT_ROLES = {Role.MANAGER.value, Role.PM.value, Role.ADMIN.value}


@dataclass(frozen=True)
class Scope:
    kind: str  # plant | line | machine
    code: str = ""  # line or machine code; "" for the plant
    name: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.code}" if self.code else self.kind


async def scope_of_user(session: AsyncSession, user: User) -> Scope | None:
    """A manager sees the plant; a team lead their line; others (or a lead without a line) nothing."""
    if set(user.roles) & PLANT_ROLES:
        return Scope("plant")
    if Role.TEAM_LEAD.value in user.roles and user.line_id is not None:
        line = await session.get(Line, user.line_id)
        if line is not None:
            return Scope("line", line.code, line.name)
    return None


async def recipients(session: AsyncSession, scope: Scope) -> list[str]:
    """Managers for the plant; the team leads of the line (of the machine) otherwise."""
    users = (await session.scalars(select(User).where(User.active.is_(True)))).all()
    if scope.kind == "plant":
        return sorted(u.wecom_userid for u in users if Role.MANAGER.value in u.roles)
    line_code = scope.code
    if scope.kind == "machine":
        line_code = await session.scalar(select(Line.code).join(Machine, Machine.line_id == Line.id)
                                         .where(Machine.code == scope.code)) or ""
    line_id = await session.scalar(select(Line.id).where(Line.code == line_code))
    return sorted(u.wecom_userid for u in users if Role.TEAM_LEAD.value in u.roles and u.line_id == line_id)


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
