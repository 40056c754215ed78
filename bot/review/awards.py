"""The month's awards: candidates stored when the cards go out (so a tap confirms what the manager saw), the
winner set once by a conditional update (two taps, or two managers, confirm once), the announcement to the
lines' group robots queued once per award and robot."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot.models import Line, User
from bot.models.review import ReviewAward
from bot.review.recognition import CATEGORIES, candidates
from bot.settings import Settings
from bot.templates import Templates

TITLES = {"entry": "最佳数据录入奖", "patrol": "点检之星", "issues": "解决问题之星"}


@dataclass(frozen=True)
class Confirmed:
    award: ReviewAward
    new: bool  # False: it had been confirmed already (this tap changed nothing)


async def ensure_awards(session: AsyncSession, settings: Settings, month: date) -> list[ReviewAward]:
    """The month's award rows, scoring the candidates the first time (later calls keep that snapshot)."""
    label = f"{month:%Y-%m}"
    existing = {a.category: a for a in await session.scalars(select(ReviewAward).where(ReviewAward.month == label))}
    if len(existing) < len(CATEGORIES):
        start, end = settings.calendar.month_bounds(month)
        scored = await candidates(session, settings, start, end)
        for category in CATEGORIES:
            if category not in existing:
                existing[category] = ReviewAward(month=label, category=category,
                                                 candidates=[c.as_json() for c in scored[category]])
                session.add(existing[category])
        await session.flush()
    return [existing[c] for c in CATEGORIES]


async def confirm(session: AsyncSession, award_id: int, winner_id: int, by: User, now: datetime) -> Confirmed | None:
    """None when the award or the candidate is not one we offered; otherwise the award as it stands now."""
    award = await session.get(ReviewAward, award_id)
    if award is None or winner_id not in {c["user_id"] for c in award.candidates}:
        return None
    done = await session.execute(update(ReviewAward).where(ReviewAward.id == award_id,
                                                           ReviewAward.winner_id.is_(None))
                                 .values(winner_id=winner_id, confirmed_by=by.id, confirmed_at=now))
    await session.refresh(award)
    return Confirmed(award, bool(done.rowcount))  # type: ignore[attr-defined]


def robots(settings: Settings) -> dict[str, str]:
    """Line code → webhook key: [[review.robots]], else the lines' andon robots ([[equipment.lines]])."""
    own = {r.line: r.webhook_key for r in settings.feature("review").robots if r.webhook_key}
    if own:
        return own
    return {r.line: r.webhook_key for r in settings.feature("equipment").lines if r.webhook_key}


async def announce(session: AsyncSession, settings: Settings, templates: Templates, award: ReviewAward,
                   now: datetime) -> int:
    """The winner to every line's group robot, once per award and robot; returns how many were queued."""
    winner = await session.get(User, award.winner_id) if award.winner_id else None
    if winner is None:
        return 0
    line = await session.get(Line, winner.line_id) if winner.line_id else None
    entry = next((c for c in award.candidates if c["user_id"] == winner.id), None)
    text = templates.render("review/award_robot.md.j2", award=award, title=TITLES[award.category], winner=winner,
                            line=line, entry=entry, plant=settings.plant.name)
    queued = 0
    for code, key in sorted(robots(settings).items()):
        row = await outbox.enqueue_once(session, f"review:award:{award.id}:robot:{code}", "markdown",
                                        {"content": text}, channel="webhook", webhook_key=key, now=now)
        queued += row is not None
    return queued
