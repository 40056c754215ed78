"""Corrections and team-lead decisions: inside the undo window a correction applies at once, after it the
line's team lead approves or rejects on a card; every change keeps the values before and after."""
from __future__ import annotations

from sqlalchemy import select

from bot.models import User
from bot.models.reports import ChangeKind, ChangeStatus, ReportChange, ReportStatus, WorkReport
from bot.people import ADMIN, holds, may
from bot.reports.errors import ReportRefused
from bot.reports.results import ChangeResult
from bot.reports.service import ReportService


class ApprovalService(ReportService):
    async def correct(self, user: User, report_id: int, good: int, scrap: int,
                      reason_code: str | None) -> ChangeResult:
        """Changes one's own confirmed report: at once inside the window (and within the plan), else asks."""
        report = await self.own_report(user, report_id)
        if report.status != ReportStatus.CONFIRMED:
            raise ReportRefused("not_correctable", status=report.status)
        if scrap > 0 and not reason_code:
            reason_code = report.reason_code
        reason_code = self.check_quantities(good, scrap, reason_code)
        if (good, scrap, reason_code) == (report.good, report.scrap, report.reason_code):
            raise ReportRefused("no_change")
        pending = await self.session.scalar(select(ReportChange.id).where(
            ReportChange.report_id == report.id, ReportChange.status == ChangeStatus.PENDING))
        if pending is not None:
            raise ReportRefused("correction_pending")
        view = (await self.result(report)).operation
        within_plan = view.good + view.pending_good - report.good + good <= view.planned + self.allowance(view.planned)
        change = ReportChange(
            report_id=report.id, kind=ChangeKind.CORRECTION, status=ChangeStatus.PENDING, requested_by=user.id,
            requested_at=self.now, old_good=report.good, old_scrap=report.scrap, old_reason=report.reason_code,
            new_good=good, new_scrap=scrap, new_reason=reason_code)
        self.session.add(change)
        approvers: list[str] = []
        if self.now <= self.undo_until(report) and (within_plan or good <= report.good):
            change.status, change.decided_by, change.decided_at = ChangeStatus.APPLIED, user.id, self.now
            self._apply(report, change)
        else:
            approvers = await self.approvers_for(report.line_id)
            if not approvers:
                raise ReportRefused("no_approver", remaining=view.remaining, pending=view.pending_good)
        await self.session.flush()
        return await self._change_result(change, report, approvers)

    async def decide(self, user: User, change_id: int, approve: bool) -> ChangeResult:
        """A team lead of the report's line (or an admin) approves or rejects a pending change, once."""
        change = await self.session.get(ReportChange, change_id, with_for_update=True)
        if change is None:
            raise ReportRefused("change_not_found")
        report = await self.session.get(WorkReport, change.report_id, with_for_update=True)
        assert report is not None
        on_line = report.line_id is None or user.line_id == report.line_id or holds(user, ADMIN)
        if not may(user, [self.settings.approver_role]) or not on_line:
            raise ReportRefused("not_approver")
        if change.status != ChangeStatus.PENDING:
            raise ReportRefused("already_decided")
        change.status = ChangeStatus.APPROVED if approve else ChangeStatus.REJECTED
        change.decided_by, change.decided_at = user.id, self.now
        if change.kind == ChangeKind.OVER_REPORT:
            report.status = ReportStatus.CONFIRMED if approve else ReportStatus.REJECTED
            report.updated_at = self.now
        elif change.kind == ChangeKind.UNDO:
            if approve:
                report.status, report.updated_at = ReportStatus.UNDONE, self.now
        elif approve:
            self._apply(report, change)
        await self.session.flush()
        return await self._change_result(change, report, [], decided_by=user.name or user.wecom_userid)

    def _apply(self, report: WorkReport, change: ReportChange) -> None:
        report.good, report.scrap = change.new_good or 0, change.new_scrap or 0
        report.reason_code, report.updated_at = change.new_reason, self.now

    async def _change_result(self, change: ReportChange, report: WorkReport, approvers: list[str],
                             decided_by: str = "") -> ChangeResult:
        return ChangeResult(change.id, change.kind, change.status, await self.result(report),
                            (change.old_good, change.old_scrap, change.old_reason),
                            (change.new_good, change.new_scrap, change.new_reason), approvers, decided_by)

    async def report_of_change(self, change_id: int) -> int | None:
        return await self.session.scalar(select(ReportChange.report_id).where(ReportChange.id == change_id))

    async def corrected(self, report_ids: list[int]) -> set[int]:
        """Reports whose quantities a correction changed (an approval or an undo is not a correction)."""
        return set(await self.session.scalars(select(ReportChange.report_id).where(
            ReportChange.report_id.in_(report_ids), ReportChange.kind == ChangeKind.CORRECTION,
            ReportChange.status.in_((ChangeStatus.APPLIED, ChangeStatus.APPROVED)))))

    async def history(self, report_id: int) -> list[ReportChange]:
        return list((await self.session.scalars(
            select(ReportChange).where(ReportChange.report_id == report_id).order_by(ReportChange.id))).all())
