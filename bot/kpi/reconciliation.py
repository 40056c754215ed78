"""Reported vs counted parts per shift, line, machine and work order: the data-quality check of the rollout.

Only machines with `output = "both"` are reconciled ("counters": nobody is asked to report; "reports": nothing to
compare with). Both sides follow the KPI engine: a confirmed report counts in the shift holding its time, a
counter delta in the shift holding its midpoint. Counters know no work order, so counted parts are attributed by
time: a delta belongs to the order of the next report on that machine in the shift (operators report what they
made since their last report), after the shift's last report to that report's order, and to no order (未分配)
when nobody reported on the machine in that shift. Reported and counted are compared as pieces, good + scrap.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot.kpi.data import load_counts, output_sources, query_frame
from bot.kpi.settings import KpiSettings
from bot.models import Line, Machine, Operation, WorkOrder
from bot.models.reports import ReportStatus, WorkReport
from bot.people import userids_with_roles
from bot.plant_calendar import ShiftSlot

RECONCILED = "both"
ITEMS = 6  # WeCom's limit of horizontal_content_list; with more rows the last item says how many more differ
STAMP = "datetime64[ns, UTC]"  # one unit on both sides, as merge_asof wants


@dataclass(frozen=True)
class Row:
    """One machine and work order (None: counted parts no report can be tied to) in one shift."""

    machine: str
    work_order: str | None
    reported: int
    counted: int
    report_ids: tuple[int, ...]

    @property
    def gap(self) -> int:
        """Counted minus reported: positive when parts were made but not reported."""
        return self.counted - self.reported


@dataclass(frozen=True)
class LineReconciliation:
    """The reconciled machines of one line in one shift; `differing` holds the rows beyond the tolerance."""

    line_id: int
    code: str
    name: str
    slot: ShiftSlot
    rows: tuple[Row, ...]
    differing: tuple[Row, ...]

    @property
    def reported(self) -> int:
        return sum(r.reported for r in self.rows)

    @property
    def counted(self) -> int:
        return sum(r.counted for r in self.rows)


def beyond_tolerance(config: KpiSettings, reported: int, counted: int) -> bool:
    """A gap worth a team lead's time: over the piece tolerance and over the percentage tolerance."""
    gap = abs(counted - reported)
    return (gap > config.reconciliation_tolerance_pieces
            and gap * 100 > config.reconciliation_tolerance_pct * max(reported, counted))


def reconciled_machines(settings: Any) -> list[str]:
    return sorted(code for code, source in output_sources(settings).items() if source == RECONCILED)


async def _reports(session: AsyncSession, codes: list[str], slot: ShiftSlot) -> pd.DataFrame:
    machine_id = func.coalesce(WorkReport.machine_id, Operation.machine_id)
    reports = await query_frame(session, select(WorkReport.id, WorkReport.created_at, Machine.code, WorkOrder.code,
                                                WorkReport.good + WorkReport.scrap)
                                .join(Operation, WorkReport.operation_id == Operation.id)
                                .join(Machine, Machine.id == machine_id)
                                .join(WorkOrder, WorkReport.work_order_id == WorkOrder.id)
                                .where(WorkReport.status == ReportStatus.CONFIRMED.value, Machine.code.in_(codes),
                                       WorkReport.created_at >= slot.start, WorkReport.created_at < slot.end),
                                ["id", "at", "machine", "work_order", "pieces"])
    reports["at"] = pd.to_datetime(reports["at"], utc=True).astype(STAMP)
    reports["pieces"] = reports["pieces"].astype("int64")
    return reports.sort_values("at", kind="stable")


async def _counts(session: AsyncSession, codes: list[str], slot: ShiftSlot) -> pd.DataFrame:
    counts = await load_counts(session, codes, slot.start, slot.end)
    counts["at"] = (counts["start"] + (counts["end"] - counts["start"]) / 2).astype(STAMP)
    counts = counts[(counts["at"] >= pd.Timestamp(slot.start)) & (counts["at"] < pd.Timestamp(slot.end))]
    counts = counts.assign(pieces=(counts["good"] + counts["scrap"]).astype("int64"))
    return counts.sort_values("at", kind="stable")


def attribute(counts: pd.DataFrame, reports: pd.DataFrame) -> pd.Series:
    """The work order each counted delta belongs to (see the module docstring), None where none can be told."""
    if counts.empty:
        return pd.Series([], dtype=object)
    if reports.empty:
        return pd.Series([None] * len(counts), index=counts.index, dtype=object)
    left = counts[["at", "machine"]].reset_index()
    right = reports[["at", "machine", "work_order"]]
    ahead = pd.merge_asof(left, right, on="at", by="machine", direction="forward")
    behind = pd.merge_asof(left, right, on="at", by="machine", direction="backward")
    order = ahead["work_order"].where(ahead["work_order"].notna(), behind["work_order"])
    return pd.Series(order.astype(object).where(order.notna(), None).to_numpy(), index=left["index"])


def _rows(counts: pd.DataFrame, reports: pd.DataFrame) -> pd.DataFrame:
    """One row per (machine, work order) with reported, counted and the report ids."""
    unassigned = "\0"  # groupby drops None keys: stand-in for 未分配 while grouping
    counted = (counts.assign(work_order=attribute(counts, reports).fillna(unassigned))
               .groupby(["machine", "work_order"])["pieces"].sum().rename("counted"))
    reported = reports.groupby(["machine", "work_order"]).agg(reported=("pieces", "sum"), ids=("id", tuple))
    table = reported.join(counted, how="outer").reset_index()
    table["reported"] = table["reported"].fillna(0).astype("int64")
    table["counted"] = table["counted"].fillna(0).astype("int64")
    table["ids"] = table["ids"].apply(lambda ids: ids if isinstance(ids, tuple) else ())
    table["work_order"] = table["work_order"].astype(object)
    table.loc[table["work_order"] == unassigned, "work_order"] = None
    return table.sort_values(["machine", "work_order"], na_position="last", kind="stable")


async def reconcile_shift(session: AsyncSession, settings: Any, config: KpiSettings,
                          slot: ShiftSlot) -> list[LineReconciliation]:
    """Every line with reconciled machines that reported or counted something in the shift, by line code."""
    codes = reconciled_machines(settings)
    if not codes:
        return []
    lines = await query_frame(session, select(Machine.code, Line.id, Line.code, Line.name)
                              .join(Line, Machine.line_id == Line.id).where(Machine.code.in_(codes)),
                              ["machine", "line_id", "line", "line_name"])
    counts, reports = await _counts(session, codes, slot), await _reports(session, codes, slot)
    if counts.empty and reports.empty:
        return []
    table = _rows(counts, reports)
    table = table.merge(lines, on="machine", how="inner")
    out = []
    for (line_id, code, name), group in table.groupby(["line_id", "line", "line_name"], sort=True):
        rows = tuple(Row(r.machine, r.work_order, int(r.reported), int(r.counted), tuple(int(i) for i in r.ids))
                     for r in group.itertuples(index=False))
        differing = tuple(r for r in rows if beyond_tolerance(config, r.reported, r.counted))
        out.append(LineReconciliation(int(line_id), str(code), str(name), slot, rows, differing))
    return sorted(out, key=lambda line: line.code)


def card_key(line: str, slot: ShiftSlot) -> str:
    return f"kpi-reconcile:{line}:{slot.day.isoformat()}:{slot.code}"


async def queue_reconciliations(session: AsyncSession, settings: Any, templates: Any, now: datetime,
                                lookback: timedelta = timedelta(hours=12)) -> list[str]:
    """A card per line and ended shift whose reported and counted parts differ beyond the tolerance, to the
    line's team leads, once (an outbox key per line and shift); the delay lets the collectors flush counts."""
    config: KpiSettings = settings.feature("kpi")
    if not reconciled_machines(settings):
        return []
    until = now - timedelta(minutes=config.shift_summary_delay_min)
    queued = []
    for slot in settings.calendar.ended_between(until - lookback, until):
        for line in await reconcile_shift(session, settings, config, slot):
            key = card_key(line.code, slot)
            if not line.differing or await outbox.is_queued(session, key):
                continue
            to = await userids_with_roles(session, ["team_lead"], line_id=line.line_id)
            if not to:
                continue
            shown = line.differing if len(line.differing) <= ITEMS else line.differing[:ITEMS - 1]
            card = json.loads(templates.render(
                "kpi/reconciliation_card.json.j2", line=line, slot=slot, shown=shown,
                hidden=line.differing[len(shown):], config=config, url=settings.server.base_url + "/"))
            if await outbox.enqueue_once(session, key, "template_card", card, to=to, now=now,
                                         priority=outbox.Priority.ROUTINE):
                queued.append(key)
    return queued
