"""Reporting's state cards: the reporter's confirmation (with 撤销) and the team leads' approval cards.

Both follow the report: after an approval, rejection, correction or undo, `follow` re-renders every card of the
report and bot.cards replaces what changed, for all its recipients, saying who changed it and when.
"""
from __future__ import annotations

import json
import secrets
import tomllib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import cards
from bot.models import User, WorkReport
from bot.models.reports import ChangeKind, ChangeStatus, ReportChange
from bot.reports.results import ReportResult
from bot.reports.service import ReportService
from bot.templates import Templates


@lru_cache(maxsize=4)
def button_labels(content_dir: Path) -> dict[str, str]:
    """Replacement labels for buttons of cards we do not know (forged keys), from reports/buttons.toml."""
    return tomllib.loads((content_dir / "templates" / "reports" / "buttons.toml").read_text(encoding="utf-8"))


def confirm_key(report_id: int) -> str:
    return f"rep:{report_id}:confirm"


def approval_key(change_id: int) -> str:
    return f"rep-ap:{change_id}"


def task_id(prefix: str, number: int) -> str:
    """Unique per app, as WeCom requires, even after a database is restored or rebuilt."""
    return f"{prefix}-{number}-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Note:
    """The last change a card shows: what, by whom, when."""

    what: str  # approved, rejected, undone, corrected, undo_pending, withdrawn
    by: str
    at: datetime


class ReportCards:
    """Builds and queues the cards in the caller's transaction (the outbox delivers them after commit)."""

    def __init__(self, session: AsyncSession, templates: Templates, *, now: datetime, undo_minutes: int,
                 reports: ReportService | None = None) -> None:
        self.session, self.templates, self.now, self.undo_minutes = session, templates, now, undo_minutes
        self.reports = reports  # needed to follow a report (it reads the report's state); sending needs none

    def _render(self, name: str, **data: Any) -> dict[str, Any]:
        return json.loads(self.templates.render(f"reports/{name}", now=self.now, **data))

    def confirm_card(self, result: ReportResult, task: str, note: Note | None = None,
                     undo_waiting: bool = False) -> dict[str, Any]:
        # Not the clock: a card that changed by itself when the window closes would spend a response code on it
        undo_open = result.status in ("confirmed", "pending") and not undo_waiting and self.undo_minutes > 0
        return self._render("card_confirm.json.j2", r=result, task_id=task, note=note, undo_open=undo_open,
                            undo_minutes=self.undo_minutes)

    def approval_card(self, change: ReportChange, result: ReportResult, reporter: str, task: str,
                      note: Note | None = None) -> dict[str, Any]:
        return self._render("card_approval.json.j2", kind=change.kind, status=change.status, r=result,
                            old=(change.old_good, change.old_scrap), new=(change.new_good, change.new_scrap),
                            reporter=reporter, task_id=task, change_id=change.id, note=note)

    def send_report(self, result: ReportResult, *, reporter_name: str, confirm: bool) -> None:
        """The reporter's confirmation card and, for an over-report, the approval card to the team leads."""
        now = self.now
        if confirm:
            cards.send(self.session, confirm_key(result.id), self.confirm_card(result, task_id("rep", result.id)),
                       to=[result.reporter_userid], now=now)
        if result.change_id is not None and result.approvers:
            change = ReportChange(id=result.change_id, kind=ChangeKind.OVER_REPORT, status=ChangeStatus.PENDING,
                                  new_good=result.good, new_scrap=result.scrap)
            self.send_approval(change, result, reporter_name, result.approvers)

    def send_approval(self, change: ReportChange, result: ReportResult, reporter_name: str,
                      approvers: list[str]) -> None:
        card = self.approval_card(change, result, reporter_name, task_id("rep-ap", change.id))
        cards.send(self.session, approval_key(change.id), card, to=approvers, now=self.now)

    async def follow(self, report_id: int) -> None:
        """Every card of the report shows its state now: the confirmation and each approval asked for."""
        report = await self.session.get(WorkReport, report_id)
        if report is None or self.reports is None:
            return
        result = await self.reports.result(report)
        changes = list(await self.session.scalars(
            select(ReportChange).where(ReportChange.report_id == report_id).order_by(ReportChange.id)))
        names = await self._names({c.decided_by for c in changes} | {c.requested_by for c in changes}
                                  | {report.user_id})
        latest = next((c for c in reversed(changes) if c.status != ChangeStatus.PENDING and c.decided_at), None)
        waiting = next((c for c in reversed(changes) if c.status == ChangeStatus.PENDING and c.kind == ChangeKind.UNDO),
                       None)
        note = (Note("undo_pending", names.get(waiting.requested_by, ""), waiting.requested_at) if waiting
                else _note(latest, report.user_id, names) if latest else None)
        sent = set(await cards.keys_sent(self.session, [confirm_key(report_id)]
                                         + [approval_key(c.id) for c in changes]))
        if confirm_key(report_id) in sent:
            confirm = self.confirm_card(result, "t", note, waiting is not None)  # the task_id is the card's own
            await cards.refresh(self.session, confirm_key(report_id), lambda _u: confirm, now=self.now)
        for change in changes:
            if approval_key(change.id) in sent:
                own = _note(change, report.user_id, names) if change.decided_at else None
                card = self.approval_card(change, result, names.get(report.user_id, ""), "t", own)
                await cards.refresh(self.session, approval_key(change.id), lambda _u, c=card: c, now=self.now)

    async def _names(self, ids: set[int | None]) -> dict[int, str]:
        wanted = [i for i in ids if i is not None]
        users = await self.session.scalars(select(User).where(User.id.in_(wanted)))
        return {u.id: u.name or u.wecom_userid for u in users}


def _note(change: ReportChange, reporter_id: int, names: dict[int, str]) -> Note:
    assert change.decided_at is not None
    by = names.get(change.decided_by or 0, "")
    if change.kind == ChangeKind.UNDO:
        what = "undone" if change.status in (ChangeStatus.APPLIED, ChangeStatus.APPROVED) else "undo_rejected"
    elif change.status == ChangeStatus.REJECTED and change.decided_by == reporter_id and change.kind != ChangeKind.UNDO:
        what = "withdrawn"  # the reporter undid the report while this waited for approval
    elif change.kind == ChangeKind.CORRECTION and change.status in (ChangeStatus.APPLIED, ChangeStatus.APPROVED):
        what = "corrected" if change.status == ChangeStatus.APPLIED else "correction_approved"
    else:
        what = "approved" if change.status == ChangeStatus.APPROVED else "rejected"
    return Note(what, by, change.decided_at)
