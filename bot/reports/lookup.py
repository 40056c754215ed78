"""One query for everything a report needs to know about an operation: its order, machine, line, material
and the quantities already reported (a burst of 3,000 operators makes every round trip count)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Line, Machine, Material, Operation, WorkOrder
from bot.models.reports import ReportStatus, WorkReport
from bot.reports.results import OperationView


def _reported(column: Any, status: str) -> Any:
    return (select(func.coalesce(func.sum(column), 0))
            .where(WorkReport.operation_id == Operation.id, WorkReport.status == status)
            .scalar_subquery())


_LINE_ID = func.coalesce(WorkOrder.line_id, Machine.line_id)
_VIEW = (select(Operation.id, WorkOrder.code, WorkOrder.status, Operation.seq, Operation.name, Machine.code,
                Machine.name, _LINE_ID, Line.code, Material.name, Material.unit, Operation.planned_quantity,
                _reported(WorkReport.good, ReportStatus.CONFIRMED), _reported(WorkReport.scrap, ReportStatus.CONFIRMED),
                _reported(WorkReport.good, ReportStatus.PENDING), Operation.work_order_id, Operation.machine_id)
         .select_from(Operation)
         .join(WorkOrder, WorkOrder.id == Operation.work_order_id)
         .outerjoin(Machine, Machine.id == Operation.machine_id)
         .outerjoin(Line, Line.id == _LINE_ID)
         .outerjoin(Material, Material.id == WorkOrder.material_id))


async def find_view(session: AsyncSession, *where: ColumnElement[bool]) -> OperationView | None:
    row = (await session.execute(_VIEW.where(*where).limit(1))).first()
    if row is None:
        return None
    (op_id, order, status, seq, name, machine, machine_name, line_id, line, material, unit, planned, good, scrap,
     pending, order_id, machine_id) = row
    return OperationView(op_id, order, status, seq, name, machine or "", machine_name or "", line_id, line or "",
                         material or "", unit or "件", planned, int(good), int(scrap), int(pending), order_id,
                         machine_id)


def with_reported(view: OperationView, good: int, scrap: int, status: str) -> OperationView:
    """The view after one more report, without asking the database again."""
    from dataclasses import replace

    if status == ReportStatus.CONFIRMED:
        return replace(view, good=view.good + good, scrap=view.scrap + scrap)
    if status == ReportStatus.PENDING:
        return replace(view, pending_good=view.pending_good + good)
    return view
