"""The round card (sent at the slot, follows the round's progress) and the checkpoint card (opened by a scan,
one item at a time); both are state cards kept current through bot.cards."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import cards, outbox
from bot.patrols.views import CheckpointView, RoundView
from bot.templates import Templates


def round_key(round_id: int) -> str:
    return f"patrol:round:{round_id}"


def checkpoint_key(round_id: int, checkpoint: str) -> str:
    return f"patrol:cp:{round_id}:{checkpoint}"


def round_url(base_url: str, round_id: int) -> str:
    return f"{base_url}/h5/patrols/round/{round_id}"


def round_card(templates: Templates, view: RoundView, base_url: str) -> dict[str, Any]:
    return json.loads(templates.render("patrols/card_round.json.j2", v=view, task_id=f"pat-r{view.round.id}",
                                       url=round_url(base_url, view.round.id)))


def checkpoint_card(templates: Templates, view: CheckpointView, base_url: str) -> dict[str, Any]:
    return json.loads(templates.render(
        "patrols/card_checkpoint.json.j2", c=view, task_id=f"pat-c{view.round.id}-{view.checkpoint.code}",
        url=round_url(base_url, view.round.id)))


def send_round(session: AsyncSession, templates: Templates, view: RoundView, base_url: str, now: datetime) -> None:
    """The round card to its assignees, HIGH: it is the call to go."""
    if view.round.assignees:
        cards.send(session, round_key(view.round.id), round_card(templates, view, base_url),
                   to=list(view.round.assignees), now=now, priority=outbox.Priority.HIGH)
    view.round.card_sent = True


async def follow_round(session: AsyncSession, templates: Templates, view: RoundView, base_url: str,
                       now: datetime) -> None:
    card = round_card(templates, view, base_url)
    await cards.refresh(session, round_key(view.round.id), lambda _userid: card, now=now)


async def show_checkpoint(session: AsyncSession, templates: Templates, view: CheckpointView, userid: str,
                          base_url: str, now: datetime) -> None:
    """The checkpoint card to the member who scanned it; a second scan brings the existing card up to date."""
    key = checkpoint_key(view.round.id, view.checkpoint.code)
    card = checkpoint_card(templates, view, base_url)
    if await cards.keys_sent(session, [key]):
        await cards.refresh(session, key, lambda _userid: card, now=now)
    else:
        cards.send(session, key, card, to=[userid], now=now, priority=outbox.Priority.HIGH)
