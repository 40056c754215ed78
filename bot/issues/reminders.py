"""Nothing forgotten: each morning every owner gets one message with their issues due today or overdue, and an
issue overdue by `escalate_pm_days` goes to the PMs, by `escalate_manager_days` to the managers — each step once
(the issue's `escalation_level` and the outbox keys make a rerun send nothing twice)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot.issues import service_for
from bot.issues.lists import due_for_owners
from bot.issues.service import IssueView
from bot.models import User
from bot.models.issues import OPEN_STATUSES, Issue, IssueEvent
from bot.people import users_with_roles

if TYPE_CHECKING:
    from bot.context import Services


@dataclass(frozen=True)
class Reminded:
    reminders: int = 0
    escalated: int = 0  # issue-steps escalated (an issue going to PMs and managers counts twice)


async def remind_and_escalate(services: Services, now: datetime) -> Reminded:
    today = services.settings.calendar.day_of(now)
    async with services.sessions.begin() as session:
        reminders = await _remind(services, session, today, now)
        escalated = await _escalate(services, session, today, now)
    outbox.notify_if_enqueued(session, services.outbox_wakeup)
    return Reminded(reminders, escalated)


async def _remind(services: Services, session: AsyncSession, today: date, now: datetime) -> int:
    sent = 0
    for owner_id, issues in (await due_for_owners(session, today)).items():
        owner = await session.get(User, owner_id)
        if owner is None or not owner.active:
            continue
        text = services.templates.render("issues/reminder.txt.j2", issues=issues, today=today)
        sent += await outbox.enqueue_once(session, f"iss:remind:{today.isoformat()}:{owner.id}", "text",
                                          {"content": text}, to=[owner.wecom_userid], now=now,
                                          priority=outbox.Priority.ROUTINE) is not None
    return sent


async def _escalate(services: Services, session: AsyncSession, today: date, now: datetime) -> int:
    settings = services.settings.feature("issues")
    issues_service = service_for(services, session, now)
    steps = ((1, settings.escalate_pm_days, settings.pm_role), (2, settings.escalate_manager_days,
                                                                 settings.manager_role))
    done = 0
    for level, days, role in steps:
        due = list(await session.scalars(select(Issue).where(
            Issue.status.in_(OPEN_STATUSES), Issue.due_on <= today - timedelta(days=days),
            Issue.escalation_level < level).order_by(Issue.id).with_for_update()))
        by_person: dict[int, list[tuple[IssueView, IssueEvent, User]]] = {}
        for issue in due:
            issue.escalation_level = level
            event = IssueEvent(issue_id=issue.id, at=now, kind="escalated", old=None,
                               new=role, note=f"逾期{(today - issue.due_on).days}天")  # type: ignore[operator]
            session.add(event)
            done += 1
            people = [u for u in await users_with_roles(session, [role], line_id=issue.line_id,
                                                        include_unassigned=True) if u.id != issue.owner_id]
            if issue.line_id is not None and not people:
                people = [u for u in await users_with_roles(session, [role]) if u.id != issue.owner_id]
            view = await issues_service.view(issue)
            for person in people:
                by_person.setdefault(person.id, []).append((view, event, person))
        await session.flush()
        for items in by_person.values():
            person = items[0][2]
            if len(items) <= settings.escalation_cards_max:  # a card each: the PM can act on it at once
                for view, event, _ in items:
                    await issues_service.cards.deliver(view, [person], event)  # type: ignore[union-attr]
            else:  # never a storm: one list
                text = services.templates.render("issues/escalation.txt.j2", issues=[v for v, _, _ in items],
                                                 level=level)
                await outbox.enqueue_once(session, f"iss:esc:{today.isoformat()}:{level}:{person.id}", "text",
                                          {"content": text}, to=[person.wecom_userid], now=now,
                                          priority=outbox.Priority.HIGH)
    return done
