"""The award cards: one per award and manager, with a button per candidate; after a confirmation every manager's
card of that award shows the winner (bot.cards replaces them, one response code per distinct card)."""
from __future__ import annotations

import json
import secrets
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import cards
from bot.models import User
from bot.models.cards import SentCard
from bot.models.review import ReviewAward
from bot.review.awards import TITLES, ensure_awards
from bot.settings import Settings
from bot.templates import Templates


def key_prefix(award_id: int) -> str:
    return f"rev:award:{award_id}:"


def card_key(award_id: int, userid: str) -> str:
    return f"{key_prefix(award_id)}{userid}"


async def award_card(session: AsyncSession, templates: Templates, award: ReviewAward,
                     task_id: str = "t") -> dict[str, Any]:
    winner = await session.get(User, award.winner_id) if award.winner_id else None
    by = await session.get(User, award.confirmed_by) if award.confirmed_by else None
    return json.loads(templates.render("review/card_award.json.j2", award=award, title=TITLES[award.category],
                                       winner=winner, by=by, task_id=task_id))


async def send_cards(session: AsyncSession, settings: Settings, templates: Templates, month: date,
                     userids: list[str], now: datetime) -> int:
    """Each award's card to each of these managers once (a card already sent is left as it is)."""
    sent = 0
    for award in await ensure_awards(session, settings, month):
        for userid in userids:
            key = card_key(award.id, userid)
            if await cards.keys_sent(session, [key]):
                continue
            task_id = f"rev-{award.id}-{secrets.token_hex(5)}"
            cards.send(session, key, await award_card(session, templates, award, task_id), to=[userid], now=now)
            sent += 1
    return sent


async def follow(session: AsyncSession, templates: Templates, award: ReviewAward, now: datetime) -> cards.Refreshed:
    """Every manager's card of this award shows its state now (the same card for all of them)."""
    await session.flush()
    card = await award_card(session, templates, award)
    keys = list(await session.scalars(select(SentCard.key).where(
        SentCard.key.startswith(key_prefix(award.id), autoescape=True)).order_by(SentCard.id)))
    total = cards.Refreshed()
    for key in keys:
        done = await cards.refresh(session, key, lambda _u: card, now=now)
        total = cards.Refreshed(total.queued + done.queued, total.current + done.current, total.stale + done.stale)
    return total
