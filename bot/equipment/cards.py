"""Andon messages: a button card to the line's people (by escalation level) and markdown to its group robot."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot.equipment.settings import EquipmentSettings
from bot.models import OutboxMessage, User
from bot.templates import Templates

if TYPE_CHECKING:
    from bot.equipment.andon import AlertView
    from bot.models.equipment import DowntimeAlert

log = logging.getLogger(__name__)
LEVEL_ROLES = ("maintenance", "team_lead", "manager")
# WeCom honours a send's response_code once within 72 h; the margin covers outbox delays and clock skew.
RESPONSE_CODE_USABLE = timedelta(hours=72) - timedelta(minutes=10)


def card_key(alert_id: int, level: int) -> str:
    """The outbox idempotency key of an alert's card for one escalation level (the row keeps its response_code)."""
    return f"andon:{alert_id}:L{level}"


def closed_key(card: str) -> str:
    """The idempotency key of the update that closes a card: a response_code works once, so one per card."""
    return f"{card}:closed"


class Notifier:
    """Queues andon messages in the caller's transaction (the outbox delivers them after commit)."""

    def __init__(self, templates: Templates, settings: EquipmentSettings) -> None:
        self.templates, self.settings = templates, settings

    async def recipients(self, session: AsyncSession, line_code: str, line_id: int, level: int) -> list[str]:
        """Configured userids for the level, else active users with its role (on the line, for the first two)."""
        configured = self.settings.recipients(line_code)
        listed = (configured.maintenance, configured.team_leads, configured.managers)[level]
        if listed:
            return list(listed)
        role = LEVEL_ROLES[level]
        users = (await session.scalars(select(User).where(User.active.is_(True)))).all()
        lines = {0: (line_id, None), 1: (line_id,)}.get(level)
        return [u.wecom_userid for u in users if role in u.roles and (lines is None or u.line_id in lines)]

    async def alert(self, session: AsyncSession, view: AlertView, *, level: int, now: datetime) -> None:
        alert = view.alert
        to = await self.recipients(session, view.line_code, view.line_id, level)
        task_id = alert.task_id if level == 0 else f"{alert.task_id}-L{level}"
        data = {"v": view, "level": level, "minutes": max(0, int((now - alert.down_start).total_seconds() // 60)),
                "reason": self.settings.reason_name(alert.reason_code) if alert.reason_code else "",
                "task_id": task_id}
        if to:
            card = json.loads(self.templates.render("equipment/card_down.json.j2", **data))
            outbox.enqueue(session, "template_card", card, to=to, now=now,
                           idempotency_key=card_key(alert.id, level))
        webhook = self.settings.recipients(view.line_code).webhook_key
        if webhook and level == 0:
            text = self.templates.render("equipment/robot_down.md.j2", **data)
            outbox.enqueue(session, "markdown", {"content": text}, channel="webhook", webhook_key=webhook, now=now,
                           idempotency_key=f"andon:{alert.id}:robot")
        if not to and not webhook:
            log.warning("andon: nobody to tell about %s on line %s (level %d): add users with role %s or "
                        "[[equipment.lines]] recipients", view.machine_code, view.line_code, level,
                        LEVEL_ROLES[level])

    async def close_cards(self, session: AsyncSession, alert: DowntimeAlert, *, outcome: str, now: datetime,
                          by: str = "", tapped_task_id: str | None = None, tapper: str | None = None) -> int:
        """Disable the buttons of everyone else's cards so nobody else walks to the machine; returns updates queued.

        The tapper's own card is answered passively. A send's response_code works once, so each card is closed at
        most once; a card not delivered yet (no response_code) or too old for WeCom is skipped."""
        keys = [card_key(alert.id, level) for level in range(len(LEVEL_ROLES))]
        rows = await session.scalars(select(OutboxMessage).where(
            OutboxMessage.idempotency_key.in_(keys + [closed_key(key) for key in keys])))
        by_key = {row.idempotency_key: row for row in rows}
        label = self.templates.render("equipment/card_closed.txt.j2", outcome=outcome, by=by)
        queued = 0
        for key in keys:
            card = by_key.get(key)
            if (card is None or closed_key(key) in by_key or not card.response_code or card.sent_at is None
                    or now - card.sent_at > RESPONSE_CODE_USABLE):
                continue
            skip = set(card.invalid_users or [])
            if tapper and tapped_task_id and card.payload.get("task_id") == tapped_task_id:
                skip.add(tapper)
            to = [userid for userid in card.target.get("touser", []) if userid not in skip]
            if to:
                outbox.enqueue(session, "update_template_card", {"replace_name": label}, to=to, now=now,
                               channel="card_update", response_code=card.response_code,
                               idempotency_key=closed_key(key))
                queued += 1
        return queued
