"""Work reports (报工) and every change to them: undo, corrections and team-lead approvals."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, utcnow


class ReportStatus(StrEnum):
    CONFIRMED = "confirmed"
    PENDING = "pending"  # over-report waiting for the team lead
    REJECTED = "rejected"
    UNDONE = "undone"


class ReportSource(StrEnum):
    CHAT = "chat"
    H5 = "h5"
    IMPORT = "import"


class WorkReport(Base):
    """Good and scrap quantities one person reported for one operation; the idempotency key makes a
    repeated submit (double tap, replayed callback) the same report."""

    __tablename__ = "work_reports"
    __table_args__ = (Index("ix_work_reports_operation_status", "operation_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("operations.id"))
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"))
    machine_id: Mapped[int | None] = mapped_column(ForeignKey("machines.id"), default=None)
    line_id: Mapped[int | None] = mapped_column(ForeignKey("lines.id"), default=None, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    good: Mapped[int] = mapped_column(Integer)
    scrap: Mapped[int] = mapped_column(Integer, default=0)
    reason_code: Mapped[str | None] = mapped_column(String(32), default=None)
    shift_day: Mapped[date] = mapped_column(Date)
    shift_code: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=ReportStatus.CONFIRMED)
    idempotency_key: Mapped[str] = mapped_column(String(191), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChangeKind(StrEnum):
    OVER_REPORT = "over_report"
    CORRECTION = "correction"
    UNDO = "undo"


class ChangeStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    APPLIED = "applied"  # took effect without approval (undo or correction inside the window)


class ReportChange(Base):
    """One change asked for or made to a report, with the values before and after: the correction history
    and the team lead's approval queue in one table."""

    __tablename__ = "work_report_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("work_reports.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    old_good: Mapped[int | None] = mapped_column(Integer, default=None)
    old_scrap: Mapped[int | None] = mapped_column(Integer, default=None)
    old_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    new_good: Mapped[int | None] = mapped_column(Integer, default=None)
    new_scrap: Mapped[int | None] = mapped_column(Integer, default=None)
    new_reason: Mapped[str | None] = mapped_column(String(32), default=None)
