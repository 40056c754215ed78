"""The H5 list's filter choices (owners, lines), kept per database for a short while instead of read per page.

Every page of `/h5/issues` offers the same owners and lines; reading them per page was two statements and some
forty ORM objects, a fifth of the page's time on the event loop that serves all PMs. They change rarely.

When a cached list may be stale, and why that is safe:
- A change of a user or line made through the ORM in this process (the demo, an admin tool, tests) drops the
  cache when its transaction commits: mapper events note the change on the session, its commit bumps
  `generation()`. Only the fields the choices show count, so `last_seen_at` (written on every message) does not.
- A change this process cannot see - `opsbot import` (another process), another replica, bulk `insert(User)`,
  SQL by hand - shows within `TTL_S`.
The choices only fill the filter's dropdowns: a stale list can at worst, for `TTL_S`, lack a person or line added
a moment ago, still offer one just removed, or show an old name. Choosing any of them filters by id in SQL, and
the rows (owners' names included) are read on every page, so what the list shows is never stale.
"""
from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, Session, object_session

from bot.models import Line, User
from bot.people import users_with_roles

TTL_S = 30.0
_CHANGED = "issues.options_changed"
# What the choices read: a change of another column (last_seen_at, is_seed, …) leaves them as they are.
_SHOWN = {User: ("wecom_userid", "name", "roles", "active"), Line: ("code", "name")}
monotonic: Callable[[], float] = time.monotonic  # replaced by tests to step past TTL_S
_generation = 0


@dataclass(frozen=True, slots=True)
class Choice:
    id: int
    label: str


@dataclass(frozen=True, slots=True)
class Choices:
    """Shared by every page until dropped: tuples, so no reader can change what the next one sees."""

    owners: tuple[Choice, ...]
    lines: tuple[Choice, ...]


@dataclass(frozen=True, slots=True)
class _Entry:
    choices: Choices
    roles: tuple[str, ...]
    generation: int
    loaded_at: float


_cache: weakref.WeakKeyDictionary[Engine, _Entry] = weakref.WeakKeyDictionary()


def generation() -> int:
    return _generation


def forget() -> None:
    """Drops every cached list (a test, or code that changed users or lines by SQL in this process)."""
    global _generation
    _generation += 1


async def filter_choices(session: AsyncSession, owner_roles: Iterable[str]) -> Choices:
    """Owners (active holders of `owner_roles`, by id) and lines (by code), as the list's dropdowns show them."""
    engine = session.get_bind().engine  # a Connection's or the Engine itself
    roles = tuple(owner_roles)
    entry = _cache.get(engine)
    now = monotonic()
    if (entry is not None and entry.generation == _generation and entry.roles == roles
            and 0 <= now - entry.loaded_at < TTL_S):
        return entry.choices
    seen = _generation  # before reading: a change committed meanwhile makes the next page read again
    owners = tuple(Choice(u.id, u.name or u.wecom_userid) for u in await users_with_roles(session, roles))
    lines = tuple(Choice(i, f"{code} {name}") for i, code, name in
                  (await session.execute(select(Line.id, Line.code, Line.name).order_by(Line.code))).all())
    choices = Choices(owners, lines)
    _cache[engine] = _Entry(choices, roles, seen, now)
    return choices


def _noted(_mapper: Mapper[Any], _connection: Any, target: Any) -> None:
    session = object_session(target)
    if session is not None:
        session.info[_CHANGED] = True


def _noted_update(mapper: Mapper[Any], connection: Any, target: Any) -> None:
    state = inspect(target)
    if any(state.attrs[name].history.has_changes() for name in _SHOWN[mapper.class_]):
        _noted(mapper, connection, target)


def _committed(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        forget()


for _model in _SHOWN:
    event.listen(_model, "after_insert", _noted)
    event.listen(_model, "after_delete", _noted)
    event.listen(_model, "after_update", _noted_update)
# After the commit, not at the flush: a page reading between the two would cache what is about to change. A
# rolled-back change leaves its note: a later commit of that session forgets once more, which costs one read.
event.listen(Session, "after_commit", _committed)
