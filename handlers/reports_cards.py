"""Template cards for reporting (confirmation with undo, approval for the team lead), queued in the outbox."""
from __future__ import annotations

import json
import secrets
import tomllib
from functools import lru_cache
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot.reports.results import ChangeResult, ReportResult
from bot.templates import Templates


@lru_cache(maxsize=4)
def button_labels(content_dir: Path) -> dict[str, str]:
    """Replacement labels for tapped buttons, from content/templates/reports/buttons.toml."""
    return tomllib.loads((content_dir / "templates" / "reports" / "buttons.toml").read_text(encoding="utf-8"))


def task_id(prefix: str, number: int) -> str:
    """Unique per app, as WeCom requires, even after a database is restored or rebuilt."""
    return f"{prefix}-{number}-{secrets.token_hex(4)}"


def confirm_card(templates: Templates, result: ReportResult, undo_minutes: int) -> dict:
    text = templates.render("reports/card_confirm.json.j2", r=result, task_id=task_id("rep", result.id),
                            undo_minutes=undo_minutes)
    card = json.loads(text)
    if not undo_minutes:
        card["sub_title_text"] = card.get("sub_title_text") or card["main_title"]["desc"]
    return card


def approval_card(templates: Templates, *, kind: str, result: ReportResult, change_id: int,
                  old: tuple[int | None, ...], new: tuple[int | None, ...], reporter: str) -> dict:
    text = templates.render("reports/card_approval.json.j2", kind=kind, r=result, old=old, new=new,
                            reporter=reporter, task_id=task_id("rep-ap", change_id), change_id=change_id)
    return json.loads(text)


def queue_report_cards(session: AsyncSession, templates: Templates, result: ReportResult, *, reporter_name: str,
                       undo_minutes: int, confirm: bool, now: object) -> None:
    """The reporter's confirmation card and, for an over-report, the approval card to the team leads."""
    if confirm:
        outbox.enqueue(session, "template_card", confirm_card(templates, result, undo_minutes),
                       to=[result.reporter_userid], now=now)  # type: ignore[arg-type]
    if result.change_id is not None and result.approvers:
        card = approval_card(templates, kind="over_report", result=result, change_id=result.change_id,
                             old=(None, None), new=(result.good, result.scrap), reporter=reporter_name)
        outbox.enqueue(session, "template_card", card, to=result.approvers, now=now)  # type: ignore[arg-type]


def queue_correction_card(session: AsyncSession, templates: Templates, change: ChangeResult, *,
                          reporter_name: str, now: object) -> None:
    if change.status != "pending" or not change.approvers:
        return
    card = approval_card(templates, kind="correction", result=change.report, change_id=change.change_id,
                         old=change.old, new=change.new, reporter=reporter_name)
    outbox.enqueue(session, "template_card", card, to=change.approvers, now=now)  # type: ignore[arg-type]
