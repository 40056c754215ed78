"""Which labels to print: every open work-order operation, or every machine, optionally of one line."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Line, Machine, Operation, WorkOrder
from bot.qr import Label, QrPayload, QrSigner, make_label
from bot.templates import Templates


async def labels_from_database(session: AsyncSession, signer: QrSigner, templates: Templates, kind: str,
                               line_code: str | None, plant: str) -> tuple[list[Label], str]:
    line_id = None
    if line_code:
        line_id = await session.scalar(select(Line.id).where(Line.code == line_code))
        if line_id is None:
            return [], ""
    labels: list[Label] = []
    if kind == "op":
        query = (select(WorkOrder.code, Operation.seq, Operation.name, Machine.code)
                 .join(Operation, Operation.work_order_id == WorkOrder.id)
                 .outerjoin(Machine, Machine.id == Operation.machine_id)
                 .where(WorkOrder.status != "closed").order_by(WorkOrder.code, Operation.seq))
        if line_id is not None:
            query = query.where(or_(WorkOrder.line_id == line_id, Machine.line_id == line_id))
        for order, seq, name, machine in await session.execute(query):
            display = f"{name} {machine}" if machine else name
            labels.append(make_label(signer, QrPayload("op", (order, str(seq))), name=display,
                                     templates=templates))
    else:
        machines = select(Machine).order_by(Machine.code)
        if line_id is not None:
            machines = machines.where(Machine.line_id == line_id)
        for machine in await session.scalars(machines):
            labels.append(make_label(signer, QrPayload("machine", (machine.code,)), name=machine.name,
                                     templates=templates))
    title = templates.render("reports/labels_title.txt.j2", plant=plant, kind=kind, line=line_code or "")
    return labels, title
