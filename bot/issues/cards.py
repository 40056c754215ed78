"""The issue's cards: one per person who must act (the owner on assignment, the verifier on 已解决, the owner
again on 退回 or reopening, a PM on escalation), each following the issue through bot.cards after every change.

What a card offers depends on who looks: the owner 接受 / 转派 / 已解决, the verifier 确认关闭 / 退回, a PM 转派 /
截止 / 驳回; everyone else 刷新. 转派 and 截止 first turn the tapper's own card into a picker.
"""
from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import cards, outbox
from bot.issues.service import IssueView
from bot.issues.settings import IssuesSettings
from bot.models import User
from bot.models.cards import SentCard
from bot.models.issues import IssueEvent, IssueStatus
from bot.people import may
from bot.templates import Templates

DUE_CHOICES = (0, 1, 3, 7)  # 今天 / 明天 / 3天 / 7天


def key_prefix(issue_id: int) -> str:
    return f"iss:{issue_id}:"


def card_key(issue_id: int, event_id: int, user_id: int) -> str:
    """One card per (change that asked this person to act, person): the outbox idempotency key of its send."""
    return f"{key_prefix(issue_id)}e{event_id}:u{user_id}"


def actions_for(view: IssueView, viewer: User | None, settings: IssuesSettings) -> list[str]:
    """The buttons `viewer` gets now, by their part in the issue and its status (at most six)."""
    issue, status = view.issue, view.issue.status
    if viewer is None:
        return ["view"]
    is_owner = viewer.id == issue.owner_id
    is_pm = may(viewer, [settings.pm_role])
    found: list[str] = []
    if status == IssueStatus.TO_VERIFY and (viewer.id == issue.verifier_id or may(viewer, [])):
        found += ["close", "ret"]
    if status == IssueStatus.NEW and is_owner:
        found += ["acc", "fwd", "res"]
    elif status == IssueStatus.IN_PROGRESS and is_owner:
        found += ["res", "fwd"]
    if status in (IssueStatus.NEW, IssueStatus.IN_PROGRESS) and is_pm:
        found += [a for a in ("fwd", "due", "rej") if a not in found]
    elif status == IssueStatus.TO_VERIFY and is_pm:
        found += ["due"]
    return found[:5] + ["view"] if found else ["view"]


def hint_for(view: IssueView, viewer: User | None, actions: list[str]) -> str:
    """Which next step the card's text explains (issues/card_issue.json.j2 words it)."""
    status = view.issue.status
    if "acc" in actions:
        return "owner_new"
    if "res" in actions:
        return "owner_doing"
    if "close" in actions:
        return "verify"
    if "due" in actions:
        return "pm"
    if status in (IssueStatus.CLOSED, IssueStatus.REJECTED):
        return "done"
    return "watch"


def new_task_id(issue_id: int) -> str:
    """Unique per app, as WeCom requires, even after a database is restored or rebuilt."""
    return f"iss-{issue_id}-{secrets.token_hex(5)}"


class IssueCards:
    """Builds and queues the cards in the caller's transaction (the outbox delivers them after commit)."""

    def __init__(self, session: AsyncSession, templates: Templates, settings: IssuesSettings, now: datetime) -> None:
        self.session, self.templates, self.settings, self.now = session, templates, settings, now

    def render(self, name: str, **data: Any) -> dict[str, Any]:
        return json.loads(self.templates.render(f"issues/{name}", now=self.now, **data))

    def card(self, view: IssueView, viewer: User | None, task_id: str = "t") -> dict[str, Any]:
        actions = actions_for(view, viewer, self.settings)
        return self.render("card_issue.json.j2", v=view, actions=actions, hint=hint_for(view, viewer, actions),
                           task_id=task_id)

    def reassign_card(self, view: IssueView, candidates: list[User], task_id: str = "t") -> dict[str, Any]:
        return self.render("card_reassign.json.j2", v=view, candidates=candidates, task_id=task_id)

    def due_card(self, view: IssueView, task_id: str = "t") -> dict[str, Any]:
        return self.render("card_due.json.j2", v=view, choices=DUE_CHOICES, task_id=task_id)

    async def deliver(self, view: IssueView, users: list[User], event: IssueEvent,
                      priority: outbox.Priority = outbox.Priority.HIGH) -> None:
        """A card of their own to each person who must act now (once per change: the key says which)."""
        await self.session.flush()
        for user in users:
            key = card_key(view.issue.id, event.id, user.id)
            if await cards.keys_sent(self.session, [key]):
                continue
            cards.send(self.session, key, self.card(view, user, new_task_id(view.issue.id)),
                       to=[user.wecom_userid], now=self.now, priority=priority)

    async def follow(self, view: IssueView) -> cards.Refreshed:
        """Every card of the issue shows its state now, as its recipient should see it."""
        await self.session.flush()
        keys = list(await self.session.scalars(select(SentCard.key).where(
            SentCard.key.startswith(key_prefix(view.issue.id), autoescape=True)).order_by(SentCard.id)))
        if not keys:
            return cards.Refreshed()
        viewers = await self._viewers(keys)
        total = cards.Refreshed()
        for key in keys:
            done = await cards.refresh(self.session, key, lambda u: self.card(view, viewers.get(u)), now=self.now)
            total = cards.Refreshed(total.queued + done.queued, total.current + done.current, total.stale + done.stale)
        return total

    async def show(self, key: str, card: dict[str, Any]) -> None:
        """Replaces one card with a picker (its recipient is the one who tapped)."""
        await cards.refresh(self.session, key, lambda _u: card, now=self.now)

    async def _viewers(self, keys: list[str]) -> dict[str, User]:
        recipients = {u for row in await self.session.scalars(select(SentCard.recipients).where(SentCard.key.in_(keys)))
                      for u in row}
        users = await self.session.scalars(select(User).where(User.wecom_userid.in_(recipients)))
        return {u.wecom_userid: u for u in users}
