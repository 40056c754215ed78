"""NG → an issue on the issue list, through the list's own service (`IssueService.open_issue`, source "patrol"):
numbering, the owner by the list's assignment rule for the checklist's category (设备 → the line's maintenance by
default), the owner's card and the history all stay the issue list's. The photo is already stored here, so its
bytes go onto the issue at once instead of a media id to fetch."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.issues.cards import IssueCards
from bot.issues.service import IssueService
from bot.models import User
from bot.models.issues import Issue, IssuePhoto, PhotoStatus
from bot.settings import Settings
from bot.templates import Templates

STATUS_NAMES = {"new": "新建", "in_progress": "处理中", "to_verify": "待验证", "closed": "已关闭",
                "rejected": "已驳回"}


@dataclass(frozen=True)
class NgIssue:
    """What the patrol asks of the issue list for one NG answer."""

    ref: str  # patrol:<round>:<checkpoint>:<item>, the issue's source_ref: a second call opens nothing
    title: str
    description: str
    category: str
    line_id: int | None
    machine_id: int | None
    reporter: User
    photo: tuple[str, bytes] | None  # content type, data


async def open_for_ng(session: AsyncSession, settings: Settings, templates: Templates, ng: NgIssue,
                      now: datetime, *, cards: bool = True) -> str:
    """The issue's number (Q-YYYY-NNNN) for this NG, opening it (and telling its owner) if it is not open yet;
    `cards=False` writes history without messages (the demo's past week)."""
    issues = settings.feature("issues")
    service = IssueService(session, issues, settings.calendar, now,
                           IssueCards(session, templates, issues, now) if cards else None)
    opened = await service.open_issue(source="patrol", ref=ng.ref, title=ng.title, description=ng.description,
                                      category=ng.category, priority="high", reporter=ng.reporter,
                                      line_id=ng.line_id, machine_id=ng.machine_id)
    if opened.created and ng.photo is not None:
        content_type, data = ng.photo
        session.add(IssuePhoto(issue_id=opened.issue.id, uploaded_by=ng.reporter.id, status=PhotoStatus.STORED,
                               content_type=content_type, size=len(data), data=data, created_at=now, stored_at=now))
    return opened.issue.number


async def issue_statuses(session: AsyncSession, numbers: list[str]) -> dict[str, str]:
    """The issue list's current status of each number, in Chinese, for the round to show."""
    if not numbers:
        return {}
    rows = await session.execute(select(Issue.number, Issue.status).where(Issue.number.in_(numbers)))
    return {number: STATUS_NAMES.get(status, status) for number, status in rows}
