"""Per-user conversation state with expiry, in the database so the next message may land on any replica."""
from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import ConversationState


async def live(session: AsyncSession, state: ConversationState | None,
               now: datetime) -> ConversationState | None:
    """The state if it has not expired; an expired one is removed so it cannot come back."""
    if state is not None and state.expires_at <= now:
        await session.delete(state)
        return None
    return state


class _LookUp(Enum):
    """The default of `save_state(current=...)`: the caller has not read the user's state in this transaction."""

    LOOK_UP = "look up"


LOOK_UP = _LookUp.LOOK_UP


async def save_state(session: AsyncSession, user_id: int, name: str, data: dict[str, Any], now: datetime,
                     ttl_s: float, *, current: ConversationState | None | _LookUp = LOOK_UP) -> ConversationState:
    """`current`: the user's state as this transaction read it already (None: there is none), so no SELECT is
    spent asking again (a scan report is a handful of statements; this was one of them)."""
    state = await session.get(ConversationState, user_id) if current is LOOK_UP else current
    expires_at = now + timedelta(seconds=ttl_s)
    if state is None:
        state = ConversationState(user_id=user_id, name=name, data=data, expires_at=expires_at,
                                  updated_at=now)
        session.add(state)
    else:
        state.name, state.data, state.expires_at, state.updated_at = name, data, expires_at, now
    return state


async def clear_state(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(ConversationState).where(ConversationState.user_id == user_id))
    loaded = session.identity_map.get(session.sync_session.identity_key(ConversationState, user_id))
    if loaded is not None:  # the row is gone: a later save in this transaction inserts a new one
        session.expunge(loaded)
