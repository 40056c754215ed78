"""Reporting rules: who may report what, over-reporting, shifts, idempotency and undo."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import lock_row
from bot.models import Machine, Operation, User, WorkOrder, WorkOrderStatus
from bot.models.reports import ChangeKind, ChangeStatus, ReportChange, ReportStatus, WorkReport
from bot.people import ADMIN, holds, may, userids_with_roles
from bot.plant_calendar import PlantCalendar
from bot.reports.errors import ReportRefused
from bot.reports.lookup import find_view, with_reported
from bot.reports.results import OperationView, ReportResult
from bot.reports.settings import ReportsSettings

COUNTED = (ReportStatus.CONFIRMED, ReportStatus.PENDING)


def parse_quantity(text: str | int | None, maximum: int) -> int:
    """A non-negative whole number no larger than `maximum`; anything else is refused."""
    if isinstance(text, bool):
        raise ReportRefused("bad_quantity", max=maximum)
    if isinstance(text, int):
        value = text
    else:
        raw = (text or "").strip()
        if not raw.isascii() or not raw.isdigit():
            raise ReportRefused("bad_quantity", max=maximum)
        value = int(raw)
    if not 0 <= value <= maximum:
        raise ReportRefused("bad_quantity", max=maximum)
    return value


def order_refusal(status: str) -> str | None:
    """Why an order in this status takes no report (None: it does); chat, H5 and the history import share it."""
    if status == WorkOrderStatus.RELEASED:
        return None
    return "not_released" if status == WorkOrderStatus.DRAFT else "closed"


class ReportService:
    """One unit of work on reports inside the caller's transaction; plain arguments in, dataclasses out."""

    def __init__(self, session: AsyncSession, settings: ReportsSettings, calendar: PlantCalendar,
                 now: datetime) -> None:
        self.session, self.settings, self.calendar, self.now = session, settings, calendar, now
        self.tz = calendar.tz

    # ---- finding the operation
    async def operation_for(self, kind: str, ids: tuple[str, ...]) -> OperationView:
        """The operation a scanned QR points at: an "op" label, or a machine's current released operation."""
        if kind == "op":
            return await self._operation_by_codes(ids[0], ids[1])
        if kind == "machine":
            return await self._machine_operation(ids[0])
        raise ReportRefused("unsupported_qr")

    async def view_by_id(self, operation_id: int) -> OperationView:
        view = await find_view(self.session, Operation.id == operation_id)
        if view is None:
            raise ReportRefused("unknown_operation", code="?", seq=str(operation_id))
        return view

    async def _operation_by_codes(self, code: str, seq: str) -> OperationView:
        view = None
        if seq.isascii() and seq.isdigit() and len(seq) < 10:
            view = await find_view(self.session, WorkOrder.code == code, Operation.seq == int(seq))
        if view is not None:
            return view
        if await self.session.scalar(select(WorkOrder.id).where(WorkOrder.code == code)) is None:
            raise ReportRefused("unknown_work_order", code=code)
        raise ReportRefused("unknown_operation", code=code, seq=seq)

    async def _machine_operation(self, code: str) -> OperationView:
        machine_id = await self.session.scalar(select(Machine.id).where(Machine.code == code))
        if machine_id is None:
            raise ReportRefused("unknown_machine", code=code)
        good = (select(func.coalesce(func.sum(WorkReport.good), 0))
                .where(WorkReport.operation_id == Operation.id, WorkReport.status == ReportStatus.CONFIRMED)
                .scalar_subquery())
        query = (select(Operation.id).join(WorkOrder, WorkOrder.id == Operation.work_order_id)
                 .where(Operation.machine_id == machine_id, WorkOrder.status == "released",
                        good < Operation.planned_quantity)
                 .order_by(case((WorkOrder.due_at.is_(None), 1), else_=0), WorkOrder.due_at,
                           WorkOrder.id, Operation.seq).limit(1))
        operation_id = await self.session.scalar(query)
        if operation_id is None:
            raise ReportRefused("no_operation_on_machine", code=code)
        return await self.view_by_id(operation_id)

    # ---- rules
    async def reportable(self, user: User, kind: str, ids: tuple[str, ...]) -> OperationView:
        """What a scanned label points at, if this user may report on it (chat and H5 alike)."""
        view = await self.operation_for(kind, ids)
        self.check_reporter(user, view)
        return view

    def allowance(self, planned: int) -> int:
        return max(self.settings.tolerance_quantity, math.ceil(planned * self.settings.tolerance_percent / 100))

    def check_reporter(self, user: User, view: OperationView) -> None:
        refusal = order_refusal(view.work_order_status)
        if refusal is not None:
            raise ReportRefused(refusal, code=view.work_order_code)
        if not may(user, self.settings.reporting_roles):
            raise ReportRefused("not_reporter")
        if holds(user, ADMIN):
            return
        if view.line_id is not None and user.line_id != view.line_id:
            raise ReportRefused("wrong_line", code=view.work_order_code, line=view.line_code)

    def check_quantities(self, good: int, scrap: int, reason_code: str | None) -> str | None:
        for value in (good, scrap):
            parse_quantity(value, self.settings.max_quantity)
        if good == 0 and scrap == 0:
            raise ReportRefused("zero_quantity")
        if scrap == 0:
            return None
        if not reason_code:
            raise ReportRefused("reason_required")
        if reason_code not in {r.code for r in self.settings.scrap_reasons}:
            raise ReportRefused("unknown_reason")
        return reason_code

    async def approvers_for(self, line_id: int | None) -> list[str]:
        """WeCom ids of the line's team leads (admins when the line has none)."""
        leads = await userids_with_roles(self.session, [self.settings.approver_role], line_id=line_id)
        return leads or await userids_with_roles(self.session, [ADMIN])

    # ---- reporting
    async def report(self, user: User, operation_id: int, good: int, scrap: int, reason_code: str | None,
                     *, source: str, idempotency_key: str) -> ReportResult:
        """Records one report; the same idempotency key again returns the first report, marked duplicate."""
        existing = await self._by_key(idempotency_key)
        if existing is not None:
            return await self.result(existing, duplicate=True)
        reason_code = self.check_quantities(good, scrap, reason_code)
        await lock_row(self.session, Operation.id, operation_id)  # two reports cannot both pass the tolerance
        view = await self.view_by_id(operation_id)
        self.check_reporter(user, view)
        allowance = self.allowance(view.planned)
        approvers: list[str] = []
        status = ReportStatus.CONFIRMED
        if view.good + view.pending_good + good > view.planned + allowance:
            # remaining never counts what waits for approval: every message names the two apart
            details = {"remaining": view.remaining, "pending": view.pending_good, "allowance": allowance, "good": good}
            if self.settings.over_report == "refuse":
                raise ReportRefused("over_report", **details)
            approvers = await self.approvers_for(view.line_id)
            if not approvers:
                raise ReportRefused("no_approver", **details)
            status = ReportStatus.PENDING
        shift = self.calendar.shift_at(self.now)
        report = await self._insert_once(dict(
            operation_id=operation_id, work_order_id=view.work_order_id, machine_id=view.machine_id,
            line_id=view.line_id,
            user_id=user.id, good=good, scrap=scrap, reason_code=reason_code, shift_day=shift.day,
            shift_code=shift.code, source=source, status=status, idempotency_key=idempotency_key,
            created_at=self.now, updated_at=self.now))
        if report is None:
            return await self.result(await self._by_key(idempotency_key), duplicate=True)
        change_id = None
        if status == ReportStatus.PENDING:
            change = ReportChange(report_id=report.id, kind=ChangeKind.OVER_REPORT, status=ChangeStatus.PENDING,
                                  requested_by=user.id, requested_at=self.now, new_good=good, new_scrap=scrap,
                                  new_reason=reason_code)
            self.session.add(change)
            await self.session.flush()
            change_id = change.id
        return await self.result(report, change_id=change_id, approvers=approvers, reporter=user,
                                 view=with_reported(view, good, scrap, status))

    async def _by_key(self, idempotency_key: str) -> WorkReport | None:
        return await self.session.scalar(select(WorkReport).where(WorkReport.idempotency_key == idempotency_key))

    async def _insert_once(self, values: dict[str, object]) -> WorkReport | None:
        """None when a concurrent transaction committed the same key first: one statement, no savepoint (a
        savepoint is two more round trips per report on PostgreSQL, and SQLite's driver would end the outer
        transaction with one)."""
        insert = sqlite_insert if self.session.get_bind().dialect.name == "sqlite" else postgresql_insert
        statement = insert(WorkReport).values(**values).on_conflict_do_nothing(
            index_elements=["idempotency_key"]).returning(WorkReport)
        return await self.session.scalar(statement)

    async def result(self, report: WorkReport, *, duplicate: bool = False, change_id: int | None = None,
                     approvers: list[str] | None = None, reporter: User | None = None,
                     view: OperationView | None = None) -> ReportResult:
        view = view or await self.view_by_id(report.operation_id)
        reporter = reporter or await self.session.get(User, report.user_id)
        shift_name = self.calendar.shift_name(report.shift_code)
        return ReportResult(
            report.id, report.status, report.good, report.scrap, report.reason_code,
            self.settings.reason_name(report.reason_code) if report.reason_code else "", report.shift_code,
            shift_name, report.shift_day, report.source, report.created_at, self.undo_until(report),
            view, reporter.wecom_userid if reporter else "", duplicate, change_id,
            approvers or [])

    async def _undo_approved(self, user: User, report: WorkReport, approved: ReportChange) -> ReportResult:
        approver = await self.session.get(User, approved.decided_by) if approved.decided_by else None
        if self.settings.undo_after_approval == "refuse":
            raise ReportRefused("undo_approved", id=report.id, by=approver.name if approver else "",
                                tell=[approver.wecom_userid] if approver else [])
        approvers = await self.approvers_for(report.line_id)
        if not approvers:
            raise ReportRefused("undo_approved", id=report.id, by=approver.name if approver else "", tell=[])
        change = ReportChange(
            report_id=report.id, kind=ChangeKind.UNDO, status=ChangeStatus.PENDING, requested_by=user.id,
            requested_at=self.now, old_good=report.good, old_scrap=report.scrap, old_reason=report.reason_code,
            new_good=0, new_scrap=0)
        self.session.add(change)
        await self.session.flush()
        return await self.result(report, change_id=change.id, approvers=approvers)

    def undo_until(self, report: WorkReport) -> datetime:
        return report.created_at + timedelta(minutes=self.settings.undo_minutes)

    async def own_report(self, user: User, report_id: int) -> WorkReport:
        report = await self.session.get(WorkReport, report_id, with_for_update=True)
        if report is None:
            raise ReportRefused("report_not_found", id=report_id)
        if report.user_id != user.id:
            raise ReportRefused("not_yours")
        return report

    async def undo(self, user: User, report_id: int) -> ReportResult:
        """Takes back one's own report inside the undo window; after it, only a correction can change it.

        A report a team lead approved is not taken back behind their back: per `undo_after_approval` the undo
        waits for an approver again (the result carries the pending change) or is refused."""
        report = await self.own_report(user, report_id)
        if report.status == ReportStatus.UNDONE:
            raise ReportRefused("already_undone")
        if report.status not in COUNTED:
            raise ReportRefused("not_correctable", status=report.status)
        if self.now > self.undo_until(report):
            raise ReportRefused("undo_expired", minutes=self.settings.undo_minutes, id=report.id)
        pending = (await self.session.scalars(select(ReportChange).where(
            ReportChange.report_id == report.id, ReportChange.status == ChangeStatus.PENDING))).all()
        if any(change.kind == ChangeKind.UNDO for change in pending):
            raise ReportRefused("undo_pending", id=report.id)
        approved = await self.session.scalar(select(ReportChange).where(
            ReportChange.report_id == report.id, ReportChange.status == ChangeStatus.APPROVED,
            ReportChange.kind.in_((ChangeKind.OVER_REPORT, ChangeKind.CORRECTION))).limit(1))
        if approved is not None:
            return await self._undo_approved(user, report, approved)
        for change in pending:
            change.status, change.decided_by, change.decided_at = ChangeStatus.REJECTED, user.id, self.now
        self.session.add(ReportChange(
            report_id=report.id, kind=ChangeKind.UNDO, status=ChangeStatus.APPLIED, requested_by=user.id,
            requested_at=self.now, decided_by=user.id, decided_at=self.now, old_good=report.good,
            old_scrap=report.scrap, old_reason=report.reason_code, new_good=0, new_scrap=0))
        report.status, report.updated_at = ReportStatus.UNDONE, self.now
        await self.session.flush()
        return await self.result(report)
