"""The demo plant's issue list: 30-odd issues across categories and statuses, some overdue, each walked through
the real service (so numbers, owners, verifiers and history rows are what the bot itself would write), without
cards: a demo should not open with a storm of messages."""
from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.issues.service import IssueService
from bot.models import Machine, User
from bot.models.issues import IssueStatus
from bot.people import users_with_roles
from bot.settings import Settings
from bot.templates import CONTENT_DIR

ISSUES_FILE = CONTENT_DIR / "demo" / "issues.toml"


async def seed_issues(session: AsyncSession, settings: Settings, now: datetime) -> dict[str, int]:
    rows: list[dict[str, Any]] = tomllib.loads(ISSUES_FILE.read_text(encoding="utf-8"))["issues"]
    users = {u.wecom_userid: u for u in await session.scalars(select(User))}
    machines = {m.code: m.id for m in await session.scalars(select(Machine))}
    pms = await users_with_roles(session, [settings.feature("issues").pm_role])
    calendar, issues_settings = settings.calendar, settings.feature("issues")
    for row in sorted(rows, key=lambda r: -int(r["created_days_ago"])):
        created = now - timedelta(days=int(row["created_days_ago"]), hours=3)

        def at(hours: float, base: datetime = created) -> IssueService:
            return IssueService(session, issues_settings, calendar, min(now, base + timedelta(hours=hours)))

        reporter = users.get(row["reporter"])
        opened = await at(0).open_issue(source="chat", title=row["title"], description=row["title"],
                                        category=row["category"], priority=row.get("priority", "medium"),
                                        reporter=reporter, machine_id=machines.get(row.get("machine", "")))
        issue, status = opened.issue, row["status"]
        owner = await session.get(User, issue.owner_id) if issue.owner_id else None
        if "due_in_days" in row:
            issue.due_on = calendar.day_of(now) + timedelta(days=int(row["due_in_days"]))
        if owner is None:
            continue
        if status == IssueStatus.REJECTED and pms:
            await at(5).reject(issue.id, pms[0], "重复或不属于本项目")
            continue
        if status in (IssueStatus.IN_PROGRESS, IssueStatus.TO_VERIFY, IssueStatus.CLOSED):
            await at(2).accept(issue.id, owner)
        if status in (IssueStatus.TO_VERIFY, IssueStatus.CLOSED):
            await at(26).resolve(issue.id, owner, "已处理")
        if status == IssueStatus.CLOSED and issue.verifier_id:
            verifier = await session.get(User, issue.verifier_id)
            if verifier is not None:
                await at(30).confirm(issue.id, verifier)
    await session.flush()
    return {"issues": len(rows)}
