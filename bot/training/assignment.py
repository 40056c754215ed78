"""Required training: every holder of a role an item requires gets it once per version (so a new version, or
a role given later by an import or an admin, assigns it), a reminder before the due time and, once overdue,
an escalation to the team lead of their line. Each step is sent at most once (outbox keys)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot.models import Line, User
from bot.models.training import TrainingAssignment, TrainingProgress
from bot.outbox import Priority
from bot.people import users_with_roles
from bot.templates import Templates
from bot.training.catalog import Catalog
from bot.training.settings import TrainingSettings
from bot.training.trial import page_url
from bot.training.versions import current_versions, is_released


@dataclass(frozen=True)
class Steps:
    assigned: int = 0
    reminded: int = 0
    escalated: int = 0


class Assignments:
    def __init__(self, session: AsyncSession, settings: TrainingSettings, catalog: Catalog, templates: Templates,
                 base_url: str, now: datetime) -> None:
        self.session, self.settings, self.catalog = session, settings, catalog
        self.templates, self.base_url, self.now = templates, base_url, now

    async def run(self) -> Steps:
        assigned = await self.assign()
        reminded, escalated = await self.chase()
        return Steps(assigned, reminded, escalated)

    async def assign(self) -> int:
        versions = await current_versions(self.session, self.catalog, self.now)
        lines = dict((await self.session.execute(select(Line.id, Line.code))).tuples().all())
        made = 0
        for code, item in self.catalog.items.items():
            if not item.required or not item.playable or not is_released(versions[code], self.settings, self.now):
                continue
            have = set(await self.session.scalars(select(TrainingAssignment.user_id).where(
                TrainingAssignment.code == code, TrainingAssignment.version == item.version)))
            done = {p.user_id: p.completed_at for p in await self.session.scalars(select(TrainingProgress).where(
                TrainingProgress.code == code, TrainingProgress.version == item.version))}
            for role, days in sorted(item.required.items()):
                for user in await users_with_roles(self.session, [role]):
                    if user.id in have or not item.for_line(lines.get(user.line_id)):  # type: ignore[arg-type]
                        continue
                    row = TrainingAssignment(user_id=user.id, code=code, version=item.version, role=role,
                                             assigned_at=self.now, due_at=self.now + timedelta(days=days),
                                             completed_at=done.get(user.id))
                    self.session.add(row)
                    await self.session.flush()
                    have.add(user.id)
                    made += 1
                    if row.completed_at is None:
                        await self._tell(f"trn:assign:{row.id}", "training/assigned.txt.j2", [user.wecom_userid],
                                         Priority.ROUTINE, row, user)
        return made

    async def chase(self) -> tuple[int, int]:
        """Reminds before the due time, escalates after it; the outbox key makes each step once."""
        before = timedelta(hours=self.settings.remind_before_hours)
        rows = (await self.session.execute(
            select(TrainingAssignment, User).join(User, User.id == TrainingAssignment.user_id)
            .where(TrainingAssignment.completed_at.is_(None), TrainingAssignment.due_at <= self.now + before,
                   User.active.is_(True)))).tuples().all()
        reminded = escalated = 0
        for row, user in rows:
            item = self.catalog.get(row.code)
            if item is None or item.version != row.version:
                continue  # a newer version replaced it: that one has its own assignment
            if self.now < row.due_at:
                reminded += await self._tell(f"trn:remind:{row.id}", "training/reminder.txt.j2",
                                             [user.wecom_userid], Priority.ROUTINE, row, user)
                continue
            leads = await users_with_roles(self.session, [self.settings.lead_role], line_id=user.line_id)
            if leads:
                escalated += await self._tell(f"trn:escalate:{row.id}", "training/escalation.txt.j2",
                                              [lead.wecom_userid for lead in leads], Priority.HIGH, row, user)
        return reminded, escalated

    async def _tell(self, key: str, template: str, to: list[str], priority: Priority, row: TrainingAssignment,
                    user: User) -> int:
        item = self.catalog.items[row.code]
        text = self.templates.render(template, item=item, assignment=row, member=user,
                                     url=page_url(self.base_url, row.code))
        sent = await outbox.enqueue_once(self.session, key, "text", {"content": text}, to=to, priority=priority,
                                         now=self.now)
        return int(sent is not None)
