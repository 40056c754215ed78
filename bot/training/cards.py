"""Training's cards: the trial card a seed user rates (有用 / 需改进) and a promoter releases (发布).

One card per recipient and version (key `trn:trial:<code>:<version>:<userid>`), so each follows what that
member did; it is built from content/templates/training/card_trial.json.j2."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import cards
from bot.models.training import TrainingRating
from bot.templates import Templates
from bot.training.catalog import Item

TEMPLATE = "training/card_trial.json.j2"


def card_key(code: str, version: int, userid: str) -> str:
    return f"trn:trial:{code}:{version}:{userid}"


def task_id(key: str) -> str:
    """WeCom task ids allow [A-Za-z0-9_-@] up to 128 bytes; a member id may not fit, so hash the key."""
    return "trn-" + hashlib.sha1(key.encode()).hexdigest()[:24]


def trial_card(templates: Templates, item: Item, userid: str, *, url: str, promoter: bool, rater: bool,
               rating: TrainingRating | None = None, released: bool = False) -> dict[str, Any]:
    key = card_key(item.code, item.version, userid)
    text = templates.render(TEMPLATE, item=item, task_id=task_id(key), url=url, promoter=promoter, rater=rater,
                            rating=rating, released=released)
    card: dict[str, Any] = json.loads(text)
    return card


def send_trial(session: AsyncSession, templates: Templates, item: Item, userid: str, *, url: str, promoter: bool,
               rater: bool, now: datetime) -> None:
    card = trial_card(templates, item, userid, url=url, promoter=promoter, rater=rater)
    cards.send(session, card_key(item.code, item.version, userid), card, to=[userid], now=now,
               priority=cards.outbox.Priority.ROUTINE)
