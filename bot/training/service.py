"""Watching: what a member may see (roles, line, trial stage), their status per item, and the player's
heartbeats and quiz. Plain arguments in, plain results out; the H5 handlers turn them into pages."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Line, User
from bot.models.training import TrainingAssignment, TrainingProgress, TrainingVersion, TrainingView
from bot.people import holds, may
from bot.training import progress as watch
from bot.training.catalog import Catalog, Item, load_catalog
from bot.training.errors import TrainingRefused
from bot.training.settings import TrainingSettings
from bot.training.versions import current_versions, is_released

SOURCES = ("scan", "chat", "page")


@dataclass(frozen=True)
class ItemStatus:
    item: Item
    stage: str  # trial | released
    percent: int
    state: str  # new | watching | quiz_due | quiz_failed | done
    required_due: datetime | None = None

    @property
    def label(self) -> str:
        return {"new": "未看", "watching": f"看了 {self.percent} %", "quiz_due": "待测验",
                "quiz_failed": "测验未通过", "done": "已完成 ✓"}[self.state]


class TrainingService:
    def __init__(self, session: AsyncSession, settings: TrainingSettings, now: datetime,
                 catalog: Catalog | None = None) -> None:
        self.session, self.settings, self.now = session, settings, now
        self.catalog = catalog or load_catalog(settings.catalog_path, settings.media_path)

    async def line_code(self, user: User) -> str | None:
        if user.line_id is None:
            return None
        return await self.session.scalar(select(Line.code).where(Line.id == user.line_id))

    def may_see(self, user: User, item: Item, line: str | None, version: TrainingVersion) -> str | None:
        """None when the member may watch, else the refusal reason; admins and promoters see everything."""
        promoter = holds(user, "admin", *self.settings.promoter_roles)
        if not promoter and (not may(user, item.roles) or not item.for_line(line)):
            return "not_for_you"
        if not is_released(version, self.settings, self.now) and not promoter and not user.is_seed:
            return "in_trial"
        return None

    async def item_for(self, user: User, code: str) -> tuple[Item, TrainingVersion]:
        item = self.catalog.get(code)
        if item is None:
            raise TrainingRefused("unknown", 404)
        version = await self.session.scalar(select(TrainingVersion).where(
            TrainingVersion.code == code, TrainingVersion.version == item.version))
        if version is None:  # a version opsbot has not seen yet: its trial starts now (for every item at once)
            version = (await current_versions(self.session, self.catalog, self.now))[code]
        line = await self.line_code(user) if item.lines else None  # an item for every line needs no lookup
        refused = self.may_see(user, item, line, version)
        if refused is not None:
            raise TrainingRefused(refused)  # type: ignore[arg-type]
        return item, version

    async def my_items(self, user: User) -> list[ItemStatus]:
        versions = await current_versions(self.session, self.catalog, self.now)
        line = await self.line_code(user)
        visible = [i for i in self.catalog.items.values() if self.may_see(user, i, line, versions[i.code]) is None]
        rows = {(p.code, p.version): p for p in await self.session.scalars(
            select(TrainingProgress).where(TrainingProgress.user_id == user.id))}
        due = {(a.code, a.version): a.due_at for a in await self.session.scalars(
            select(TrainingAssignment).where(TrainingAssignment.user_id == user.id))}
        result = []
        for item in visible:
            stage = "released" if is_released(versions[item.code], self.settings, self.now) else "trial"
            key = (item.code, item.version)
            result.append(status_of(item, stage, rows.get(key), due.get(key), self.settings))
        return sorted(result, key=lambda s: (s.state == "done", s.stage != "trial", s.item.code))

    async def open(self, user: User, code: str,
                   source: str) -> tuple[Item, TrainingProgress, TrainingView, ItemStatus]:
        """A page opening: the member's progress (the resume point), a new view that heartbeats attach to, and
        the item's status (only this item's: the page is opened a thousand times at shift start)."""
        item, version = await self.item_for(user, code)
        if not item.playable:
            raise TrainingRefused("broken", 404)
        row = await self._progress(user.id, item, flush=False)  # one flush below writes it with the view
        view = TrainingView(user_id=user.id, code=item.code, version=item.version,
                            source=source if source in SOURCES else "page", opened_at=self.now)
        self.session.add(view)
        await self.session.flush()
        stage = "released" if is_released(version, self.settings, self.now) else "trial"
        return item, row, view, status_of(item, stage, row, None, self.settings)

    async def _progress(self, user_id: int, item: Item, *, flush: bool = True) -> TrainingProgress:
        row = await self.session.scalar(select(TrainingProgress).where(
            TrainingProgress.user_id == user_id, TrainingProgress.code == item.code,
            TrainingProgress.version == item.version))
        if row is None:
            row = TrainingProgress(user_id=user_id, code=item.code, version=item.version, duration_s=item.duration_s,
                                   played=[], played_s=0.0, position_s=0.0, updated_at=self.now)
            self.session.add(row)
            if flush:
                await self.session.flush()
        return row

    async def submit_quiz(self, user: User, code: str, answers: list[int | None]) -> tuple[int, bool, ItemStatus]:
        """Score and pass/fail; a pass after ≥ 90 % played completes the item, a fail may be retried."""
        item, version = await self.item_for(user, code)
        if item.quiz is None:
            raise TrainingRefused("bad_input", 400)
        score = sum(1 for q, a in zip(item.quiz.questions, answers, strict=False) if a == q.answer)
        row = await self._progress(user.id, item)
        passed = score >= item.quiz.pass_mark
        if not row.quiz_passed:
            row.quiz_score, row.quiz_passed = score, passed
        await self._maybe_complete(row, item)
        stage = "released" if is_released(version, self.settings, self.now) else "trial"
        return score, passed, status_of(item, stage, row, None, self.settings)

    async def _maybe_complete(self, row: TrainingProgress, item: Item) -> None:
        if row.completed_at is not None:
            return
        if watch.percent(row.played_s, item.duration_s) < self.settings.complete_percent:
            return
        if item.quiz is not None and not row.quiz_passed:
            return
        row.completed_at = self.now
        assignment = await self.session.scalar(select(TrainingAssignment).where(
            TrainingAssignment.user_id == row.user_id, TrainingAssignment.code == row.code,
            TrainingAssignment.version == row.version))
        if assignment is not None:
            assignment.completed_at = self.now


def status_of(item: Item, stage: str, row: TrainingProgress | None, due: datetime | None,
              settings: TrainingSettings) -> ItemStatus:
    if row is None:
        return ItemStatus(item, stage, 0, "new", due)
    pct = watch.percent(row.played_s, item.duration_s)
    if row.completed_at is not None:
        state = "done"
    elif pct < settings.complete_percent:
        state = "watching" if pct > 0 or row.played_s > 0 else "new"
    else:
        state = "quiz_failed" if row.quiz_passed is False else "quiz_due"
    return ItemStatus(item, stage, pct, state, due)


def due_in(days: float, now: datetime) -> datetime:
    return now + timedelta(days=days)
