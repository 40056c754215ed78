"""WeCom's rules for template cards we replace later: limits, the 72-hour response codes, the update body.

A response code comes from message/send (for the whole card) and from every tap (ResponseCode in the callback).
Each code works once, within 72 hours, for one `update_template_card` call; that call names the recipients
(`userids`) of the card's task and carries one card for all of them. So a card shown differently to different
recipients needs one code per variant, and a tap's fresh code may also carry a card to the tap's other recipients.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

RESPONSE_CODE_TTL = timedelta(hours=72)
# The margin covers outbox delays and clock skew between us and WeCom.
RESPONSE_CODE_USABLE = RESPONSE_CODE_TTL - timedelta(minutes=10)
INTERACTIVE_CARDS = frozenset({"button_interaction", "vote_interaction", "multiple_interaction"})
TASK_ID = re.compile(r"[A-Za-z0-9_\-@]{1,128}")
MAX_BUTTONS = 6
MAX_HORIZONTAL = 6
MAX_SELECTION_OPTIONS = 10
MAX_USERIDS = 1000


class CardInvalid(ValueError):
    """A card WeCom would refuse; raised before it is queued, so the template is fixed rather than the send."""


def code_usable(issued_at: datetime, now: datetime) -> bool:
    return now - issued_at <= RESPONSE_CODE_USABLE


def check_replaceable(card: dict[str, Any]) -> None:
    """An interactive card within WeCom's limits: only those can be replaced again after the next tap."""
    if card.get("card_type") not in INTERACTIVE_CARDS:
        raise CardInvalid(f"card_type {card.get('card_type')!r} cannot be updated later")
    if not isinstance(card.get("task_id"), str) or not TASK_ID.fullmatch(card["task_id"]):
        raise CardInvalid("task_id: 1-128 of [A-Za-z0-9_-@]")
    buttons = card.get("button_list") or []
    if card["card_type"] == "button_interaction" and not 1 <= len(buttons) <= MAX_BUTTONS:
        raise CardInvalid(f"button_list: 1 to {MAX_BUTTONS} buttons")
    if len(card.get("horizontal_content_list") or []) > MAX_HORIZONTAL:
        raise CardInvalid(f"horizontal_content_list: at most {MAX_HORIZONTAL} rows")
    selection = card.get("button_selection")
    if selection is not None and not 1 <= len(selection.get("option_list") or []) <= MAX_SELECTION_OPTIONS:
        raise CardInvalid(f"button_selection: 1 to {MAX_SELECTION_OPTIONS} options")


def replacement(card: dict[str, Any], task_id: str) -> dict[str, Any]:
    """The full new card for an update: it keeps the task_id of the card it replaces."""
    new = dict(card, task_id=task_id)
    check_replaceable(new)
    return new


def update_payload(card: dict[str, Any]) -> dict[str, Any]:
    """What an outbox card_update row carries for a full replacement (the sender adds userids and the code)."""
    return {"template_card": card}


def update_body(userids: list[str], agent_id: int, response_code: str, card: dict[str, Any]) -> dict[str, Any]:
    """The `message/update_template_card` body replacing the whole card for these recipients."""
    if not 1 <= len(userids) <= MAX_USERIDS:
        raise CardInvalid(f"userids: 1 to {MAX_USERIDS}")
    return {"userids": userids, "agentid": agent_id, "response_code": response_code, "template_card": card}
