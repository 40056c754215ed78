"""Reporting's cards as the handlers use them; the cards themselves live in bot/reports/cards.py."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Context
from bot.reports.cards import ReportCards, button_labels
from bot.reports.results import ChangeResult, ReportResult
from bot.reports.service import ReportService
from bot.templates import Templates

__all__ = ["after_undo", "button_labels", "queue_correction_card", "queue_report_cards", "report_cards"]


def queue_report_cards(session: AsyncSession, templates: Templates, result: ReportResult, *, reporter_name: str,
                       undo_minutes: int, confirm: bool, now: datetime) -> None:
    """The reporter's confirmation card and, for an over-report, the approval card to the team leads."""
    ReportCards(session, templates, now=now, undo_minutes=undo_minutes).send_report(
        result, reporter_name=reporter_name, confirm=confirm)


def report_cards(ctx: Context, reports: ReportService) -> ReportCards:
    return ReportCards(ctx.session, ctx.services.templates, now=ctx.now,
                       undo_minutes=reports.settings.undo_minutes, reports=reports)


def queue_correction_card(ctx: Context, reports: ReportService, change: ChangeResult) -> None:
    """A correction that waits for a team lead goes to them on a card."""
    if change.status != "pending" or not change.approvers:
        return
    from bot.models.reports import ReportChange

    row = ReportChange(id=change.change_id, kind=change.kind, status=change.status, old_good=change.old[0],
                       old_scrap=change.old[1], new_good=change.new[0], new_scrap=change.new[1])
    report_cards(ctx, reports).send_approval(row, change.report, ctx.user.name, change.approvers)


async def after_undo(session: AsyncSession, templates: Templates, reports: ReportService, result: ReportResult,
                     reporter_name: str) -> None:
    """An undo waiting for a team lead sends them its card; either way every card of the report follows."""
    from bot.models.reports import ChangeKind, ChangeStatus, ReportChange

    cards_ = ReportCards(session, templates, now=reports.now, undo_minutes=reports.settings.undo_minutes,
                         reports=reports)
    if result.change_id is not None and result.status != "undone":
        row = ReportChange(id=result.change_id, kind=ChangeKind.UNDO, status=ChangeStatus.PENDING,
                           old_good=result.good, old_scrap=result.scrap, new_good=0, new_scrap=0)
        cards_.send_approval(row, result, reporter_name, result.approvers)
    await cards_.follow(result.id)

