"""Andon messages: a state card to the line's people (by escalation level) and markdown to its group robot.

Every card follows the alert: `refresh` renders what each recipient should see now (the taker's card carries
已修复, everyone else's says who took, fixed or cancelled it and when) and bot.cards replaces what changed.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import cards, outbox
from bot.equipment.settings import EquipmentSettings
from bot.models import User
from bot.people import userids_with_roles
from bot.templates import Templates

if TYPE_CHECKING:
    from bot.equipment.andon import AlertView

log = logging.getLogger(__name__)
LEVEL_ROLES = ("maintenance", "team_lead", "manager")
SELECTION_MAX = 10  # WeCom's button_selection options; more reasons are chosen by number in chat


def card_key(alert_id: int, level: int) -> str:
    """The card's name in bot.cards (and the outbox idempotency key of its send) for one escalation level."""
    return f"andon:{alert_id}:L{level}"


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
        # maintenance: the line's and the plant-wide crew; team leads: the line's; managers: the plant's
        if level == 2:
            return await userids_with_roles(session, [LEVEL_ROLES[level]])
        return await userids_with_roles(session, [LEVEL_ROLES[level]], line_id=line_id, include_unassigned=level == 0)

    def card(self, view: AlertView, level: int, *, viewer: str | None = None, names: dict[int, str] | None = None,
             userids: dict[int, str] | None = None) -> dict[str, Any]:
        """The card as `viewer` sees it now; `names`/`userids` map user ids to names and WeCom ids."""
        alert, names, userids = view.alert, names or {}, userids or {}
        mine = viewer is not None and viewer in (userids.get(alert.acknowledged_by or 0),
                                                 userids.get(alert.fixed_by or 0))
        reasons = self.settings.reasons if len(self.settings.reasons) <= SELECTION_MAX else []
        text = self.templates.render(
            "equipment/card_down.json.j2", v=view, level=level, mine=mine,
            taker=names.get(alert.acknowledged_by or 0, ""), fixer=names.get(alert.fixed_by or 0, ""),
            reason=self.settings.reason_name(alert.reason_code) if alert.reason_code else "",
            reason_given=alert.reason_at is not None, reasons=reasons,
            task_id=alert.task_id if level == 0 else f"{alert.task_id}-L{level}")
        return json.loads(text)

    async def alert(self, session: AsyncSession, view: AlertView, *, level: int, now: datetime) -> None:
        alert = view.alert
        to = await self.recipients(session, view.line_code, view.line_id, level)
        if to:
            cards.send(session, card_key(alert.id, level), self.card(view, level), to=to, now=now,
                       priority=outbox.Priority.URGENT)
        webhook = self.settings.recipients(view.line_code).webhook_key
        if webhook and level == 0:
            minutes = max(0, int((now - alert.down_start).total_seconds() // 60))
            reason = self.settings.reason_name(alert.reason_code) if alert.reason_code else ""
            text = self.templates.render("equipment/robot_down.md.j2", v=view, minutes=minutes, reason=reason)
            outbox.enqueue(session, "markdown", {"content": text}, channel="webhook", webhook_key=webhook, now=now,
                           idempotency_key=f"andon:{alert.id}:robot", priority=outbox.Priority.URGENT)
        if not to and not webhook:
            log.warning("andon: nobody to tell about %s on line %s (level %d): add users with role %s or "
                        "[[equipment.lines]] recipients", view.machine_code, view.line_code, level,
                        LEVEL_ROLES[level])

    async def refresh(self, session: AsyncSession, view: AlertView, *, now: datetime) -> cards.Refreshed:
        """Every card of the alert, at every level sent, shows its state now (within WeCom's code budget)."""
        alert = view.alert
        people = [uid for uid in (alert.acknowledged_by, alert.fixed_by) if uid is not None]
        names: dict[int, str] = {}
        userids: dict[int, str] = {}
        for uid in set(people):
            user = await session.get(User, uid)
            if user is not None:
                names[uid], userids[uid] = user.name or user.wecom_userid, user.wecom_userid
        keys = await cards.keys_sent(session, [card_key(alert.id, level) for level in range(len(LEVEL_ROLES))])
        total = cards.Refreshed()
        for level in range(len(LEVEL_ROLES)):
            if card_key(alert.id, level) not in keys:
                continue
            done = await cards.refresh(
                session, card_key(alert.id, level),
                lambda userid, lv=level: self.card(view, lv, viewer=userid, names=names, userids=userids), now=now)
            total = cards.Refreshed(total.queued + done.queued, total.current + done.current,
                                    total.stale + done.stale)
        return total
