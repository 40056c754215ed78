"""Downtime Pareto (reason × minutes) and scrap Pareto (reason × pieces) of a scope and month.

Downtime minutes come from the month's loaded KPI inputs (bot/review/month.py: the down intervals overlapping
the month, clipped to it, micro-stops left out, as in the engine). Scrap counts confirmed reports created in
the month, as the KPI engine does."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Machine, Operation
from bot.models.equipment import DowntimeReason
from bot.models.reports import ReportStatus, WorkReport

NO_REASON = ""


@dataclass(frozen=True)
class Bar:
    code: str
    name: str
    value: float  # minutes for downtime, pieces for scrap
    share: float  # of the scope's total
    cumulative: float


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def bars(totals: dict[str, float], names: dict[str, str], top: int, unnamed: str) -> list[Bar]:
    """The top bars, largest first, with share and cumulative share of everything (not only of the top)."""
    whole = sum(totals.values())
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    out, running = [], 0.0
    for code, value in ranked:
        running += value
        out.append(Bar(code, names.get(code) or (code or unnamed), value, value / whole if whole else 0.0,
                       running / whole if whole else 0.0))
    return out


async def downtime_names(session: AsyncSession) -> dict[str, str]:
    return dict((await session.execute(select(DowntimeReason.code, DowntimeReason.name_zh))).tuples().all())


async def scrap_pieces(session: AsyncSession, start: datetime, end: datetime, *,
                       line_id: int | None) -> dict[str, float]:
    machine_id = func.coalesce(WorkReport.machine_id, Operation.machine_id)  # as the KPI engine attributes it
    query = (select(WorkReport.reason_code, func.sum(WorkReport.scrap))
             .join(Operation, WorkReport.operation_id == Operation.id).join(Machine, Machine.id == machine_id)
             .where(WorkReport.status == ReportStatus.CONFIRMED.value, WorkReport.created_at >= start,
                    WorkReport.created_at < end, WorkReport.scrap > 0).group_by(WorkReport.reason_code))
    if line_id is not None:
        query = query.where(Machine.line_id == line_id)
    totals: dict[str, float] = {}
    for reason, pieces in await session.execute(query):
        totals[reason or NO_REASON] = totals.get(reason or NO_REASON, 0.0) + float(pieces or 0)
    return totals
