"""Messages a member is waiting for (a chart they asked for) that the reply to their next message must not
overtake: a passive reply leaves at once, so while such a message is still queued the reply goes through the
outbox instead, behind it (the sender delivers one member's rows in the order they were queued)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import exists

from bot.models import OutboxMessage
from bot.outbox.queue import Priority

PREFIX = "ahead"
# Past this a message that still has not left is stuck (retrying with backoff): replies stop waiting for it.
WAIT_AT_MOST = timedelta(minutes=2)


def ahead_key(userid: str, rest: str) -> str:
    """The idempotency key of a message to `userid` that their next reply waits behind."""
    return f"{PREFIX}:{userid}:{rest}"


def replies_held(member: Any, since: Any) -> Any:
    """The SQL condition "a HIGH or URGENT message queued since `since` still holds `member`'s replies", for the
    callback's own user query to carry (bot/inbound.py): every callback asks, so it costs no round trip of its
    own and is one lookup in ix_outbox_holds (member, created_at)."""
    return exists().where(
        OutboxMessage.holds_replies == member, OutboxMessage.created_at >= since,
        OutboxMessage.status.in_(("pending", "sending")), OutboxMessage.priority <= int(Priority.HIGH))

