"""Doing a round: a checkpoint's scan proves presence, each item's answer is checked against its definition
(limits, choices, photos), an NG opens an issue at once, and the last answer finishes the round."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import lock_row
from bot.models import Line, Machine, User
from bot.models.patrols import PatrolAnswer, PatrolPhoto, PatrolRound, PatrolVisit
from bot.patrols.definitions import CODE, Checklist, Checkpoint, Item
from bot.patrols.errors import PatrolRefused
from bot.patrols.issues import NgIssue, issue_statuses, open_for_ng
from bot.patrols.photos import check_image
from bot.patrols.settings import PatrolsSettings
from bot.patrols.versions import checklist_at
from bot.patrols.views import CLOSED, STATUS_NAMES, CheckpointView, ItemState, RoundView
from bot.people import may
from bot.settings import Settings
from bot.templates import Templates

QR_ID = re.compile(rf"({CODE.pattern}):({CODE.pattern})(?:@({CODE.pattern}))?")
NUMBER = re.compile(r"[+-]?(\d{1,9}(\.\d{1,6})?|\.\d{1,6})")
OK_WORDS, NG_WORDS = {"ok", "正常", "合格", "1"}, {"ng", "异常", "不合格", "0"}
MAX_TEXT = 500


def checkpoint_qr_id(checklist_code: str, checkpoint: str, machine: str | None = None) -> str:
    """The id a checkpoint's QR of kind `patrol` carries; per-machine checklists have one label per machine."""
    return f"{checklist_code}:{checkpoint}" + (f"@{machine}" if machine else "")


def parse_qr_id(text: str) -> tuple[str, str, str | None]:
    match = QR_ID.fullmatch(text)
    if match is None:
        raise PatrolRefused("unknown_checkpoint")
    return match.group(1), match.group(2), match.group(3)


def judge(item: Item, raw: str) -> tuple[str, float | None, bool]:
    """(value as stored, number, NG) for an answer, or PatrolRefused("bad_value")."""
    text = raw.strip()
    if item.kind == "ok_ng":
        if text.lower() in OK_WORDS:
            return "OK", None, False
        if text.lower() in NG_WORDS:
            return "NG", None, True
        raise PatrolRefused("bad_value", item=item.name, kind=item.kind)
    if item.kind == "number":
        if not NUMBER.fullmatch(text):
            raise PatrolRefused("bad_value", item=item.name, kind=item.kind, unit=item.unit)
        number = float(text)
        ng = (item.low is not None and number < item.low) or (item.high is not None and number > item.high)
        return text, number, bool(ng)
    if item.kind == "choice":
        if text not in item.options:
            raise PatrolRefused("bad_value", item=item.name, kind=item.kind)
        return text, None, text in item.ng_options
    if item.kind == "text":
        if not text or len(text) > MAX_TEXT:
            raise PatrolRefused("bad_value", item=item.name, kind=item.kind, limit=MAX_TEXT)
        return text, None, False
    return "照片", None, False  # photo: the photo is the answer


class PatrolService:
    """Plain arguments in, views out; the caller's transaction holds every change."""

    def __init__(self, session: AsyncSession, settings: Settings, templates: Templates, now: datetime, *,
                 quiet: bool = False) -> None:
        self.quiet = quiet  # history written after the fact: no issue cards
        self.session = session
        self.settings = settings
        self.feature: PatrolsSettings = settings.feature("patrols")
        self.templates = templates
        self.now = now

    # ---- reading
    async def round_of(self, round_id: int) -> tuple[PatrolRound, Checklist]:
        row = await self.session.get(PatrolRound, round_id)
        if row is None:
            raise PatrolRefused("no_round")
        return row, await checklist_at(self.session, row.checklist_code, row.version)

    async def round_view(self, round_id: int) -> RoundView:
        row, checklist = await self.round_of(round_id)
        visits = {v.checkpoint: v for v in await self.session.scalars(
            select(PatrolVisit).where(PatrolVisit.round_id == round_id))}
        answers = {(a.checkpoint, a.item): a for a in await self.session.scalars(
            select(PatrolAnswer).where(PatrolAnswer.round_id == round_id))}
        statuses = await issue_statuses(self.session, [a.issue_ref for a in answers.values() if a.issue_ref])
        checkpoints = [CheckpointView(row, checklist, cp, visits.get(cp.code),
                                      [ItemState(it, answers.get((cp.code, it.code))) for it in cp.items], statuses)
                       for cp in checklist.checkpoints]
        names = list(await self.session.scalars(select(User.name).where(User.wecom_userid.in_(row.assignees))))
        return RoundView(row, checklist, await self.scope_name(row), checkpoints, names)

    async def scope_name(self, row: PatrolRound) -> str:
        if row.machine_id is not None:
            machine = await self.session.get(Machine, row.machine_id)
            return f"{machine.code} {machine.name}" if machine else row.scope_key
        if row.line_id is not None:
            line = await self.session.get(Line, row.line_id)
            return f"{line.code} {line.name}" if line else row.scope_key
        return self.settings.plant.name

    async def checkpoint_view(self, round_id: int, code: str) -> CheckpointView:
        view = await self.round_view(round_id)
        found = next((c for c in view.checkpoints if c.checkpoint.code == code), None)
        if found is None:
            raise PatrolRefused("other_round")
        return found

    async def my_open_rounds(self, user: User) -> list[PatrolRound]:
        rows = await self.session.scalars(select(PatrolRound).where(
            PatrolRound.status.in_(("open", "started")), PatrolRound.window_end > self.now,
            PatrolRound.window_start <= self.now + timedelta(hours=1)).order_by(PatrolRound.due_at, PatrolRound.id))
        return [r for r in rows if user.wecom_userid in r.assignees]

    # ---- checks
    def check_open(self, row: PatrolRound) -> None:
        if row.status in CLOSED or self.now >= row.window_end:
            raise PatrolRefused("closed", status_name=STATUS_NAMES.get(row.status, "已超时"))
        if self.now < row.window_start:
            raise PatrolRefused("not_open_yet")

    def check_assignee(self, user: User, row: PatrolRound) -> None:
        if user.wecom_userid not in row.assignees and not may(user, [self.feature.lead_role]):
            raise PatrolRefused("not_assignee")

    async def _locked_round(self, round_id: int) -> tuple[PatrolRound, Checklist]:
        await lock_row(self.session, PatrolRound.id, round_id)
        row, checklist = await self.round_of(round_id)
        await self.session.refresh(row)
        return row, checklist

    async def round_for_qr(self, user: User, qr_id: str) -> int:
        """The member's open round this checkpoint label belongs to (the most recent slot first)."""
        code, checkpoint, machine = parse_qr_id(qr_id)
        query = select(PatrolRound).where(PatrolRound.checklist_code == code,
                                          PatrolRound.status.in_(("open", "started")),
                                          PatrolRound.window_start <= self.now, PatrolRound.window_end > self.now)
        if machine is not None:
            query = query.where(PatrolRound.scope_key == f"machine:{machine}")
        rows = [r for r in await self.session.scalars(query.order_by(PatrolRound.slot.desc(), PatrolRound.id))]
        mine = [r for r in rows if user.wecom_userid in r.assignees] or [
            r for r in rows if may(user, [self.feature.lead_role])]
        if not mine:
            raise PatrolRefused("not_assignee" if rows else "no_round")
        row, checklist = await self.round_of(mine[0].id)
        if checklist.checkpoint(checkpoint) is None:
            raise PatrolRefused("unknown_checkpoint")
        return row.id

    def check_qr_matches(self, row: PatrolRound, qr_id: str) -> str:
        """The checkpoint a label names, refused when the label belongs to another round."""
        code, checkpoint, machine = parse_qr_id(qr_id)
        if code != row.checklist_code or (machine is not None and row.scope_key != f"machine:{machine}"):
            raise PatrolRefused("other_round")
        return checkpoint

    # ---- changing
    async def scan(self, user: User, qr_id: str) -> CheckpointView:
        """Presence at a checkpoint: its scan time (the first scan counts) and the round marked started."""
        round_id = await self.round_for_qr(user, qr_id)
        row, checklist = await self._locked_round(round_id)
        self.check_open(row)
        checkpoint = self.check_qr_matches(row, qr_id)
        visit = await self._visit(row.id, checkpoint)
        if visit.scanned_at is None:
            visit.scanned_at = self.now
        self._start(row)
        return await self.checkpoint_view(row.id, checkpoint)

    def _start(self, row: PatrolRound) -> None:
        if row.status == "open":
            row.status, row.started_at = "started", self.now

    async def _visit(self, round_id: int, checkpoint: str) -> PatrolVisit:
        visit = await self.session.scalar(select(PatrolVisit).where(PatrolVisit.round_id == round_id,
                                                                    PatrolVisit.checkpoint == checkpoint))
        if visit is None:
            visit = PatrolVisit(round_id=round_id, checkpoint=checkpoint)
            self.session.add(visit)
            await self.session.flush()
        return visit

    async def store_photo(self, user: User, round_id: int, checkpoint: str, item: str | None, content_type: str,
                          data: bytes, media_id: str | None = None) -> int:
        """Keeps the photo's bytes at once (a media id expires after 3 days); refuses non-images and big files."""
        row, checklist = await self._locked_round(round_id)
        self.check_assignee(user, row)
        self.check_open(row)
        cp = checklist.checkpoint(checkpoint)
        if cp is None:
            raise PatrolRefused("other_round")
        if item is not None and not any(it.code == item for it in cp.items):
            raise PatrolRefused("unknown_item")
        kind = check_image(content_type, data, self.feature.max_photo_bytes)
        photo = PatrolPhoto(round_id=row.id, checkpoint=checkpoint, item=item, content_type=kind, size=len(data),
                            data=data, media_id=media_id, uploaded_by=user.id, created_at=self.now)
        self.session.add(photo)
        await self.session.flush()
        return photo.id

    async def answer(self, user: User, round_id: int, checkpoint: str, item_code: str, raw: str,
                     photo_id: int | None = None) -> tuple[CheckpointView, PatrolAnswer]:
        """Records one item's answer; an NG opens its issue in this transaction; the last answer finishes."""
        row, checklist = await self._locked_round(round_id)
        self.check_assignee(user, row)
        self.check_open(row)
        cp = checklist.checkpoint(checkpoint)
        if cp is None:
            raise PatrolRefused("other_round")
        item = next((it for it in cp.items if it.code == item_code), None)
        if item is None:
            raise PatrolRefused("unknown_item")
        if await self.session.scalar(select(PatrolAnswer.id).where(
                PatrolAnswer.round_id == row.id, PatrolAnswer.checkpoint == checkpoint,
                PatrolAnswer.item == item_code)) is not None:
            raise PatrolRefused("answered")
        value, number, ng = judge(item, raw)
        photo = await self._photo_for(row.id, checkpoint, item_code, photo_id)
        if item.photo_needed(ng) and photo is None:
            raise PatrolRefused("photo_needed", item=item.name)
        answer = PatrolAnswer(round_id=row.id, checkpoint=checkpoint, item=item_code, value=value, number=number,
                              ng=ng, photo_id=photo.id if photo else None, answered_by=user.id,
                              answered_at=self.now)
        self.session.add(answer)
        visit = await self._visit(row.id, checkpoint)
        visit.answered_at = self.now
        visit.unscanned = visit.scanned_at is None
        self._start(row)
        await self.session.flush()
        if ng:
            answer.issue_ref = await self._open_issue(user, row, checklist, cp, item, answer, photo)
        await self._finish_if_done(user, row, checklist)
        return await self.checkpoint_view(row.id, checkpoint), answer

    async def _photo_for(self, round_id: int, checkpoint: str, item: str, photo_id: int | None) -> PatrolPhoto | None:
        query = select(PatrolPhoto).where(PatrolPhoto.round_id == round_id, PatrolPhoto.checkpoint == checkpoint)
        if photo_id is not None:
            return await self.session.scalar(query.where(PatrolPhoto.id == photo_id))
        return await self.session.scalar(query.where(PatrolPhoto.item == item).order_by(PatrolPhoto.id.desc()))

    async def _open_issue(self, user: User, row: PatrolRound, checklist: Checklist, cp: Checkpoint, item: Item,
                          answer: PatrolAnswer, photo: PatrolPhoto | None) -> str:
        link = f"{self.settings.server.base_url}/h5/patrols/round/{row.id}"
        context = {"checklist": checklist, "checkpoint": cp, "item": item, "answer": answer,
                   "scope": await self.scope_name(row), "link": link, "reporter": user, "round": row}
        ng = NgIssue(ref=f"patrol:{row.id}:{cp.code}:{item.code}",
                     title=self.templates.render("patrols/issue_title.txt.j2", **context),
                     description=self.templates.render("patrols/issue.txt.j2", **context),
                     category=checklist.issue_category, line_id=row.line_id, machine_id=row.machine_id,
                     reporter=user, photo=(photo.content_type, photo.data) if photo else None)
        return await open_for_ng(self.session, self.settings, self.templates, ng, self.now, cards=not self.quiet)

    async def _finish_if_done(self, user: User, row: PatrolRound, checklist: Checklist) -> None:
        total = sum(len(cp.items) for cp in checklist.checkpoints)
        answered = len(list(await self.session.scalars(select(PatrolAnswer.id).where(
            PatrolAnswer.round_id == row.id))))
        if answered < total:
            return
        row.status, row.finished_at, row.finished_by = "done", self.now, user.id
        started = row.started_at or self.now
        row.too_fast = checklist.min_minutes > 0 and (self.now - started) < timedelta(minutes=checklist.min_minutes)
