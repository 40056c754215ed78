"""Lists of issues for one person (`我的问题`) and for the daily reminder."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import User
from bot.models.issues import OPEN_STATUSES, Issue, IssueStatus

LIST_MAX = 10


@dataclass
class MyIssues:
    """What `我的问题` shows: what I must do (own, verify) and what I raised, each capped; `more` counts the rest."""

    owned: list[Issue] = field(default_factory=list)
    to_verify: list[Issue] = field(default_factory=list)
    reported: list[Issue] = field(default_factory=list)
    more: dict[str, int] = field(default_factory=dict)


async def my_issues(session: AsyncSession, user: User, today: date) -> MyIssues:
    mine = MyIssues()
    queries = {
        "owned": select(Issue).where(Issue.owner_id == user.id, Issue.status.in_(
            [IssueStatus.NEW, IssueStatus.IN_PROGRESS])).order_by(Issue.due_on.is_(None), Issue.due_on, Issue.id),
        "to_verify": select(Issue).where(Issue.verifier_id == user.id, Issue.status == IssueStatus.TO_VERIFY)
        .order_by(Issue.id),
        "reported": select(Issue).where(Issue.reporter_id == user.id, Issue.status.in_(OPEN_STATUSES),
                                        Issue.owner_id.is_distinct_from(user.id), Issue.verifier_id.is_distinct_from(
                                            user.id)).order_by(Issue.id.desc()),
    }
    for name, query in queries.items():
        rows = list(await session.scalars(query.limit(LIST_MAX + 1)))
        setattr(mine, name, rows[:LIST_MAX])
        if len(rows) > LIST_MAX:
            mine.more[name] = len(rows) - LIST_MAX
    return mine


async def due_for_owners(session: AsyncSession, today: date) -> dict[int, list[Issue]]:
    """Open issues due today or overdue, by owner (the daily reminder sends each owner one message)."""
    rows = await session.scalars(select(Issue).where(
        Issue.status.in_([IssueStatus.NEW, IssueStatus.IN_PROGRESS]), Issue.owner_id.is_not(None),
        Issue.due_on <= today).order_by(Issue.due_on, Issue.id))
    found: dict[int, list[Issue]] = {}
    for issue in rows:
        found.setdefault(issue.owner_id, []).append(issue)  # type: ignore[arg-type]
    return found
