"""The issue list (问题清单). Other features open issues through `open_issue` (see docs/issues.md)."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot.issues.service import IssueRefused, IssueService, IssueView, Opened

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.context import Services
    from bot.models import User

__all__ = ["IssueRefused", "IssueService", "IssueView", "Opened", "open_issue", "service_for"]


def service_for(services: Services, session: AsyncSession, now: datetime) -> IssueService:
    """The service with its cards wired, in the caller's transaction."""
    from bot.issues.cards import IssueCards

    settings = services.settings.feature("issues")
    return IssueService(session, settings, services.settings.calendar, now,
                        IssueCards(session, services.templates, settings, now))


async def open_issue(session: AsyncSession, *, services: Services, source: str, ref: str | None, title: str,
                     now: datetime, description: str = "", category: str | None = None, priority: str = "medium",
                     reporter: User | None = None, line_id: int | None = None,
                     machine_id: int | None = None) -> Opened:
    """Opens one issue for a cause in another feature (a patrol's NG answer, a downtime alert) and sends the
    owner's card, in the caller's transaction; calling again with the same (source, ref) opens nothing."""
    return await service_for(services, session, now).open_issue(
        source=source, ref=ref, title=title, description=description, category=category, priority=priority,
        reporter=reporter, line_id=line_id, machine_id=machine_id)
