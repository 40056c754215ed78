"""Which review a request means (month, scope) and whether this user may open it; shared by chat and H5 so
both refuse the same things. Permissions are the KPI scopes' (`may_see`): a team lead sees their own line."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from bot.kpi.scopes import Scope, may_see, resolve_scope, scope_of_user
from bot.models import User
from bot.review.service import parse_month, previous_month
from bot.settings import Settings

PAGE = "/h5/review/{month}"
VIEWER_ROLES = {"team_lead", "manager", "pm"}


@dataclass(frozen=True)
class Asked:
    """What `复盘 …` asked for; `problem` names why it cannot be answered (a template key), else None."""

    month: date | None
    scope: Scope | None
    problem: str | None = None
    wanted: str = ""


def default_month(settings: Settings, now: datetime) -> date:
    """The last complete month in plant time (on 1 December: November)."""
    return previous_month(settings.calendar.day_of(now).replace(day=1))


def review_url(base_url: str, month: date, scope: Scope) -> str:
    path = PAGE.format(month=f"{month:%Y-%m}")
    return f"{base_url}{path}" + (f"?{urlencode({'line': scope.code})}" if scope.kind == "line" else "")


async def resolve(session: AsyncSession, settings: Settings, user: User, words: list[str], now: datetime) -> Asked:
    month, rest = None, []
    for word in words:
        parsed = parse_month(word)
        if parsed is not None and month is None:
            month = parsed
        else:
            rest.append(word)
    month = month or default_month(settings, now)
    if month > settings.calendar.day_of(now):
        return Asked(month, None, "future")
    if rest:
        scope = await resolve_scope(session, " ".join(rest)) or await resolve_scope(session, rest[0])
        if scope is None or scope.kind == "machine":
            return Asked(month, None, "unknown", " ".join(rest))
    else:
        scope = await scope_of_user(session, user)
        if scope is None:
            return Asked(month, None, "no_scope")
    if not await may_see(session, user, scope):
        return Asked(month, scope, "not_yours")
    return Asked(month, scope)
