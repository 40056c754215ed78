"""Who owns a new issue and who verifies its fix: the plant's rules by category and line, then the line's
team lead, then the PMs; the verifier is the reporter unless that is the owner (then a PM, a manager)."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.issues.settings import IssuesSettings
from bot.models import Line, User
from bot.models.issues import OPEN_STATUSES, Issue
from bot.people import users_with_roles


async def _holders(session: AsyncSession, roles: Iterable[str], line_id: int | None) -> list[User]:
    """The line's holders of the roles and the plant-wide ones (no line); without a line, everyone's."""
    if line_id is None:
        return await users_with_roles(session, roles)
    return await users_with_roles(session, roles, line_id=line_id, include_unassigned=True)


async def _least_busy(session: AsyncSession, users: list[User]) -> User | None:
    """Spreads the work: the candidate with the fewest open issues, the earliest user on a tie."""
    if not users:
        return None
    counts = dict((await session.execute(
        select(Issue.owner_id, func.count()).where(Issue.owner_id.in_([u.id for u in users]),
                                                   Issue.status.in_(OPEN_STATUSES)).group_by(Issue.owner_id))).all())
    return min(users, key=lambda u: (counts.get(u.id, 0), u.id))


async def pick_owner(session: AsyncSession, settings: IssuesSettings, *, category: str,
                     line_id: int | None) -> User | None:
    line_code = await session.scalar(select(Line.code).where(Line.id == line_id)) if line_id else None
    rule = settings.rule_for(category, line_code)
    if rule is not None:
        if rule.users:
            listed = list(await session.scalars(select(User).where(
                User.wecom_userid.in_(rule.users), User.active.is_(True))))
            if owner := await _least_busy(session, listed):
                return owner
        if rule.roles and (owner := await _least_busy(session, await _holders(session, rule.roles, line_id))):
            return owner
    for role in settings.fallback_roles:
        if owner := await _least_busy(session, await _holders(session, [role], line_id)):
            return owner
    return None


async def pick_verifier(session: AsyncSession, settings: IssuesSettings, *, reporter: User | None,
                        owner: User | None, line_id: int | None) -> User | None:
    """Never the owner: someone else must see that the fix works."""
    owner_id = owner.id if owner is not None else None
    if reporter is not None and reporter.id != owner_id and reporter.active:
        return reporter
    for role in (settings.pm_role, settings.manager_role, "admin"):
        others = [u for u in await _holders(session, [role], line_id) if u.id != owner_id]
        if others:
            return others[0]
    return None


async def owner_candidates(session: AsyncSession, settings: IssuesSettings, *, line_id: int | None,
                           exclude: Iterable[int | None] = (), limit: int = 10) -> list[User]:
    """Whom 转派 offers: holders of the owner roles on the issue's line (and plant-wide), at most `limit`."""
    skip = {i for i in exclude if i is not None}
    return [u for u in await _holders(session, settings.owner_roles, line_id) if u.id not in skip][:limit]


async def find_user(session: AsyncSession, text: str) -> list[User]:
    """Users a typed name or WeCom id means (exact match first: names repeat in a plant)."""
    text = text.strip()
    if not text:
        return []
    exact = list(await session.scalars(select(User).where(
        (User.wecom_userid == text) | (User.name == text), User.active.is_(True)).order_by(User.id)))
    return [u for u in exact if u.roles]
