"""The issue list's one way to change an issue: open (from chat, H5, patrols, downtime, import), accept,
resolve, verify or send back, reassign, set the due date, reject, reopen, comment, add photos.

Each change is checked (who may, from which status), written with a history row (who, when, from → to) and
followed by the cards of everyone involved (bot/issues/cards.py): a card update for who already has one, a
new card only for whom must act now, so each change is one message at most per person.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.issues.assignment import pick_owner, pick_verifier
from bot.issues.numbering import next_number
from bot.issues.settings import IssuesSettings
from bot.models import Line, Machine, User
from bot.models.issues import OPEN_STATUSES, Issue, IssueEvent, IssuePhoto, IssueSource, IssueStatus, PhotoStatus
from bot.people import may
from bot.plant_calendar import PlantCalendar

if TYPE_CHECKING:
    from bot.issues.cards import IssueCards

SOURCES = {s.value for s in IssueSource}
TITLE_MAX = 200


class IssueRefused(Exception):
    """A change that cannot take effect; `code` picks the Chinese explanation (issues/refused.txt.j2)."""

    def __init__(self, code: str, issue: Issue | None = None, **data: object) -> None:
        super().__init__(code)
        self.code, self.issue, self.data = code, issue, data


@dataclass(frozen=True)
class Opened:
    issue: Issue
    created: bool  # False: the hook's cause (source, ref) already had its issue


@dataclass(frozen=True)
class IssueView:
    """Everything a card or a reply shows about an issue."""

    issue: Issue
    reporter: User | None
    owner: User | None
    verifier: User | None
    line: Line | None
    machine: Machine | None
    photos: int
    overdue_days: int  # 0 when not overdue (or closed)


def short_title(text: str) -> str:
    """The first line of a description, cut to fit the title column."""
    first = (text.strip().splitlines() or [""])[0].strip()
    return first if len(first) <= 40 else first[:39] + "…"


class IssueService:
    """One transaction's worth of issue work; `cards` (when given) keeps every involved card current."""

    def __init__(self, session: AsyncSession, settings: IssuesSettings, calendar: PlantCalendar, now: datetime,
                 cards: IssueCards | None = None) -> None:
        self.session, self.settings, self.calendar, self.now, self.cards = session, settings, calendar, now, cards

    @property
    def today(self) -> date:
        return self.calendar.day_of(self.now)

    # ---------------------------------------------------------------- opening
    async def open_issue(self, *, source: str, title: str, ref: str | None = None, description: str = "",
                         category: str | None = None, priority: str = "medium", reporter: User | None = None,
                         line_id: int | None = None, machine_id: int | None = None,
                         due_on: date | None = None) -> Opened:
        """Creates the issue with its number, owner, verifier and due date, and sends the owner's card.

        `ref` names the cause in its source (`alert:12`, a patrol answer): a second call with it opens nothing."""
        if source not in SOURCES:
            raise ValueError(f"unknown issue source {source!r}")
        if ref is not None:
            found = await self.session.scalar(select(Issue).where(Issue.source == source, Issue.source_ref == ref))
            if found is not None:
                return Opened(found, False)
        category = category if category in self.settings.categories else self.settings.categories[-1]
        if machine_id is not None and line_id is None:
            line_id = await self.session.scalar(select(Machine.line_id).where(Machine.id == machine_id))
        if line_id is None and reporter is not None:
            line_id = reporter.line_id
        owner = await pick_owner(self.session, self.settings, category=category, line_id=line_id)
        verifier = await pick_verifier(self.session, self.settings, reporter=reporter, owner=owner, line_id=line_id)
        year = self.today.year
        seq, number = await next_number(self.session, year)
        issue = Issue(number=number, year=year, seq=seq, title=short_title(title) or number,
                      description=description.strip(), category=category, priority=priority, source=source,
                      source_ref=ref, status=IssueStatus.NEW, reporter_id=reporter.id if reporter else None,
                      owner_id=owner.id if owner else None, verifier_id=verifier.id if verifier else None,
                      line_id=line_id, machine_id=machine_id, created_at=self.now, updated_at=self.now,
                      due_on=due_on or self.today + timedelta(days=self.settings.due_days(priority)))
        self.session.add(issue)
        await self.session.flush()
        event = self._event(issue, reporter, "created", None, IssueStatus.NEW,
                            note=owner.name if owner else "")
        await self.session.flush()
        if self.cards is not None and owner is not None:
            await self.cards.deliver(await self.view(issue), [owner], event)
        return Opened(issue, True)

    # ---------------------------------------------------------------- reading
    async def get(self, issue_id: int) -> Issue:
        """The issue, locked for this transaction (two taps on one issue change it one after the other)."""
        issue = await self.session.get(Issue, issue_id, with_for_update=True, populate_existing=True)
        if issue is None:
            raise IssueRefused("not_found")
        return issue

    async def by_number(self, number: str) -> Issue:
        issue_id = await self.session.scalar(select(Issue.id).where(Issue.number == number))
        if issue_id is None:
            raise IssueRefused("not_found", number=number)
        return await self.get(issue_id)

    async def view(self, issue: Issue) -> IssueView:
        people = {u.id: u for u in await self.session.scalars(select(User).where(
            User.id.in_([i for i in (issue.reporter_id, issue.owner_id, issue.verifier_id) if i])))}
        photos = await self.session.scalar(select(func.count()).select_from(IssuePhoto).where(
            IssuePhoto.issue_id == issue.id, IssuePhoto.status == PhotoStatus.STORED)) or 0
        line = await self.session.get(Line, issue.line_id) if issue.line_id else None
        machine = await self.session.get(Machine, issue.machine_id) if issue.machine_id else None
        overdue = ((self.today - issue.due_on).days if issue.due_on and issue.status in OPEN_STATUSES
                   and issue.due_on < self.today else 0)
        return IssueView(issue, people.get(issue.reporter_id or 0), people.get(issue.owner_id or 0),
                         people.get(issue.verifier_id or 0), line, machine, int(photos), overdue)

    async def history(self, issue_id: int) -> list[tuple[IssueEvent, str]]:
        """Every change, oldest first, with the name of who made it ("" for the system)."""
        rows = (await self.session.execute(
            select(IssueEvent, User.name).outerjoin(User, User.id == IssueEvent.actor_id)
            .where(IssueEvent.issue_id == issue_id).order_by(IssueEvent.at, IssueEvent.id))).all()
        return [(event, name or "") for event, name in rows]

    # ---------------------------------------------------------------- changes
    async def accept(self, issue_id: int, user: User) -> Issue:
        issue = await self._owned(issue_id, user)
        self._expect(issue, IssueStatus.NEW)
        await self._status(issue, user, IssueStatus.IN_PROGRESS)
        await self._follow(issue)
        return issue

    async def resolve(self, issue_id: int, user: User, note: str = "") -> Issue:
        issue = await self._owned(issue_id, user)
        self._expect(issue, IssueStatus.NEW, IssueStatus.IN_PROGRESS)
        if issue.verifier_id is None or issue.verifier_id == issue.owner_id:
            await self._set_verifier(issue, user)
        issue.resolved_at = self.now
        event = await self._status(issue, user, IssueStatus.TO_VERIFY, note)
        await self._follow(issue, tell=[issue.verifier_id], event=event)
        return issue

    async def confirm(self, issue_id: int, user: User) -> Issue:
        issue = await self._verified_by(issue_id, user)
        issue.closed_at = self.now
        await self._status(issue, user, IssueStatus.CLOSED)
        await self._follow(issue)
        return issue

    async def send_back(self, issue_id: int, user: User, note: str = "") -> Issue:
        """退回: the fix did not hold; back to 处理中 and the owner gets a card saying so."""
        issue = await self._verified_by(issue_id, user)
        issue.resolved_at = None
        event = await self._status(issue, user, IssueStatus.IN_PROGRESS, note or "退回")
        await self._follow(issue, tell=[issue.owner_id], event=event)
        return issue

    async def reassign(self, issue_id: int, user: User, new_owner: User) -> Issue:
        issue = await self.get(issue_id)
        if not (issue.owner_id == user.id or self._is_pm(user)):
            raise IssueRefused("not_owner_or_pm", issue)
        self._expect(issue, IssueStatus.NEW, IssueStatus.IN_PROGRESS)
        if new_owner.id == issue.owner_id:
            raise IssueRefused("same_owner", issue, name=new_owner.name)
        old = await self._name(issue.owner_id)
        issue.owner_id, issue.updated_at = new_owner.id, self.now
        event = self._event(issue, user, "owner", old, new_owner.name)
        if issue.status == IssueStatus.IN_PROGRESS:
            await self._status(issue, user, IssueStatus.NEW, "转派")  # the new owner accepts it themselves
        if issue.verifier_id == new_owner.id:
            await self._set_verifier(issue, user)
        await self.session.flush()
        await self._follow(issue, tell=[new_owner.id], event=event)
        return issue

    async def set_due(self, issue_id: int, user: User, day: date) -> Issue:
        issue = await self.get(issue_id)
        if not self._is_pm(user):
            raise IssueRefused("not_pm", issue)
        self._expect(issue, *OPEN_STATUSES)
        if day < self.today:
            raise IssueRefused("past_due", issue, day=day)
        old = issue.due_on.isoformat() if issue.due_on else None
        issue.due_on, issue.escalation_level, issue.updated_at = day, 0, self.now  # a new date: reminders restart
        self._event(issue, user, "due", old, day.isoformat())
        await self._follow(issue)
        return issue

    async def reject(self, issue_id: int, user: User, note: str = "") -> Issue:
        """已驳回: not a problem, or a duplicate; the reporter is told once."""
        issue = await self.get(issue_id)
        if not self._is_pm(user):
            raise IssueRefused("not_pm", issue)
        self._expect(issue, IssueStatus.NEW, IssueStatus.IN_PROGRESS)
        issue.closed_at = self.now
        event = await self._status(issue, user, IssueStatus.REJECTED, note)
        await self._follow(issue, tell=[issue.reporter_id], event=event)
        return issue

    async def reopen(self, issue_id: int, user: User, note: str = "") -> Issue:
        issue = await self.get(issue_id)
        if user.id not in (issue.reporter_id, issue.verifier_id) and not self._is_pm(user):
            raise IssueRefused("not_involved", issue)
        self._expect(issue, IssueStatus.CLOSED, IssueStatus.REJECTED)
        issue.closed_at = issue.resolved_at = None
        event = await self._status(issue, user, IssueStatus.IN_PROGRESS, note or "重新打开")
        await self._follow(issue, tell=[issue.owner_id], event=event)
        return issue

    async def comment(self, issue_id: int, user: User, text: str) -> Issue:
        issue = await self.get(issue_id)
        self._event(issue, user, "comment", None, None, note=text.strip()[:1000])
        issue.updated_at = self.now
        return issue

    async def add_photo(self, issue_id: int, user: User, media_id: str) -> IssuePhoto:
        """Remembers the photo's media_id now; bot/issues/photos.py fetches its bytes right after the reply."""
        issue = await self.get(issue_id)
        count = await self.session.scalar(select(func.count()).select_from(IssuePhoto).where(
            IssuePhoto.issue_id == issue.id, IssuePhoto.status.notin_([PhotoStatus.FAILED, PhotoStatus.REFUSED])))
        if (count or 0) >= self.settings.max_photos:
            raise IssueRefused("too_many_photos", issue, max=self.settings.max_photos)
        photo = IssuePhoto(issue_id=issue.id, uploaded_by=user.id, media_id=media_id[:255],
                           status=PhotoStatus.PENDING, next_attempt_at=self.now, created_at=self.now)
        self.session.add(photo)
        await self.session.flush()
        self._event(issue, user, "photo", None, str(photo.id))
        return photo

    # ---------------------------------------------------------------- helpers
    def _is_pm(self, user: User) -> bool:
        return may(user, [self.settings.pm_role])

    async def _owned(self, issue_id: int, user: User) -> Issue:
        issue = await self.get(issue_id)
        if issue.owner_id != user.id and not may(user, []):  # `may(user, [])`: admins only
            raise IssueRefused("not_owner", issue, owner=await self._name(issue.owner_id))
        return issue

    async def _verified_by(self, issue_id: int, user: User) -> Issue:
        issue = await self.get(issue_id)
        if issue.verifier_id != user.id and not may(user, []):
            raise IssueRefused("not_verifier", issue, verifier=await self._name(issue.verifier_id))
        self._expect(issue, IssueStatus.TO_VERIFY)
        return issue

    def _expect(self, issue: Issue, *statuses: str) -> None:
        if issue.status not in statuses:
            raise IssueRefused(f"status_{issue.status}", issue)

    async def _set_verifier(self, issue: Issue, actor: User | None) -> None:
        reporter = await self.session.get(User, issue.reporter_id) if issue.reporter_id else None
        owner = await self.session.get(User, issue.owner_id) if issue.owner_id else None
        verifier = await pick_verifier(self.session, self.settings, reporter=reporter, owner=owner,
                                       line_id=issue.line_id)
        new_id = verifier.id if verifier else None
        if new_id != issue.verifier_id:
            old = await self._name(issue.verifier_id)
            self._event(issue, actor, "verifier", old, verifier.name if verifier else "")
            issue.verifier_id = new_id

    async def _status(self, issue: Issue, actor: User | None, status: str, note: str = "") -> IssueEvent:
        old, issue.status, issue.updated_at = issue.status, status, self.now
        event = self._event(issue, actor, "status", old, status, note)
        await self.session.flush()
        return event

    def _event(self, issue: Issue, actor: User | None, kind: str, old: str | None, new: str | None,
               note: str = "") -> IssueEvent:
        event = IssueEvent(issue_id=issue.id, at=self.now, actor_id=actor.id if actor else None, kind=kind,
                           old=old[:200] if old else old, new=new[:200] if new else new, note=note)
        self.session.add(event)
        return event

    async def _name(self, user_id: int | None) -> str:
        if user_id is None:
            return ""
        user = await self.session.get(User, user_id)
        return (user.name or user.wecom_userid) if user else ""

    async def _follow(self, issue: Issue, *, tell: list[int | None] | None = None,
                      event: IssueEvent | None = None) -> None:
        """Every card of the issue shows the change; whoever must act now (`tell`) gets a card of their own."""
        if self.cards is None:
            return
        await self.session.flush()
        view = await self.view(issue)
        told = await self._users([i for i in tell or [] if i is not None])
        await self.cards.follow(view)
        if told and event is not None:
            await self.cards.deliver(view, told, event)

    async def _users(self, ids: list[int]) -> list[User]:
        return list(await self.session.scalars(select(User).where(User.id.in_(ids), User.active.is_(True))))
