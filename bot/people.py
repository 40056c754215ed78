"""Who holds a role where: the one query and the one permission check every feature, the router and the H5 gate use.

Admins may do everything; a route or service that names no roles is open to every member with some role.
Seed users (种子用户) are a flag on the user, so "seed users only" is a check on top of the roles.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Role, User

ADMIN = Role.ADMIN.value


def may(user: User, roles: Iterable[str] | None, *, seed_only: bool = False) -> bool:
    """True when the user holds one of `roles` (any role when None), or is an admin; `seed_only` also wants the
    seed-user flag (admins pass it too, so they can try what seed users try)."""
    held = set(user.roles)
    if ADMIN in held:
        return True
    if seed_only and not user.is_seed:
        return False
    return roles is None or bool(held & set(roles))


def holds(user: User, *roles: str) -> bool:
    """The user holds one of these roles themselves (admins are not implied: for choosing whom to tell)."""
    return bool(set(user.roles) & set(roles))


async def users_with_roles(session: AsyncSession, roles: Iterable[str], *, line_id: int | None = None,
                           include_unassigned: bool = False, seed_only: bool = False) -> list[User]:
    """Active users holding one of `roles`, ordered by id; with `line_id`, those on that line (and, with
    `include_unassigned`, those with no line: plant-wide people such as a central maintenance crew).

    Roles are a JSON list, which SQLite and PostgreSQL query differently, so the role filter runs here over the
    active users of the line; a plant has hundreds of users, not millions."""
    wanted = set(roles)
    query = select(User).where(User.active.is_(True)).order_by(User.id)
    if line_id is not None:
        query = query.where(User.line_id.is_(None) | (User.line_id == line_id) if include_unassigned
                            else User.line_id == line_id)
    if seed_only:
        query = query.where(User.is_seed.is_(True))
    return [u for u in (await session.scalars(query)).all() if wanted & set(u.roles)]


async def userids_with_roles(session: AsyncSession, roles: Iterable[str], **where: object) -> list[str]:
    """The WeCom ids of `users_with_roles`, for addressing messages."""
    return [u.wecom_userid for u in await users_with_roles(session, roles, **where)]  # type: ignore[arg-type]
