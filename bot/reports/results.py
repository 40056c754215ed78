"""Plain results the reporting service hands to handlers, jobs and the CLI (no ORM objects leak out)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class OperationView:
    """What an operator needs to see before reporting: the order, the step, the machine and what is left."""

    operation_id: int
    work_order_code: str
    work_order_status: str
    seq: int
    name: str
    machine_code: str
    machine_name: str
    line_id: int | None
    line_code: str
    material: str
    unit: str
    planned: int
    good: int
    scrap: int
    pending_good: int
    work_order_id: int = 0
    machine_id: int | None = None

    @property
    def remaining(self) -> int:
        return max(0, self.planned - self.good)


@dataclass(frozen=True)
class ReportResult:
    id: int
    status: str
    good: int
    scrap: int
    reason_code: str | None
    reason_name: str
    shift_code: str
    shift_name: str
    shift_day: date
    source: str
    created_at: datetime
    undo_until: datetime
    operation: OperationView
    reporter_userid: str = ""
    duplicate: bool = False
    change_id: int | None = None  # the pending approval of an over-report
    approvers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ChangeResult:
    """A correction or decision: the change row's state, the report after it, and whom to tell."""

    change_id: int
    kind: str
    status: str
    report: ReportResult
    old: tuple[int | None, int | None, str | None]
    new: tuple[int | None, int | None, str | None]
    approvers: list[str] = field(default_factory=list)
    decided_by: str = ""
