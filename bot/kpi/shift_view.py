"""One line's shift as the KPI page shows it: the line's figures, each machine's, and downtime by reason.

The shift card's 查看详情 links here (`shift_url`); the page (handlers/kpi_h5.py) checks who may see the line."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import pandas as pd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.kpi import to_json_records
from bot.kpi.data import KpiFrames, load_frames, output_sources
from bot.kpi.scopes import Scope, pick
from bot.kpi.service import kpi_settings, kpis_of
from bot.models import Line, Machine
from bot.models.equipment import DowntimeReason
from bot.plant_calendar import ShiftSlot
from bot.settings import Settings

SHIFT_PAGE = "/h5/kpi/shift"
NO_REASON = "未填写原因"


def shift_url(base_url: str, line_code: str, slot: ShiftSlot) -> str:
    """The page of one line's shift; plain parameters, since the page checks the viewer's scope itself."""
    query = urlencode({"line": line_code, "day": slot.day.isoformat(), "shift": slot.code})
    return f"{base_url}{SHIFT_PAGE}?{query}"


@dataclass
class ShiftView:
    scope: Scope
    slot: ShiftSlot
    until: datetime  # the shift's end, or now while it runs
    line: dict[str, Any] | None  # None: the line has no machines
    machines: list[dict[str, Any]] = field(default_factory=list)  # records plus "name"
    downtime: list[tuple[str, float]] = field(default_factory=list)  # (reason, seconds), longest first

    @property
    def running(self) -> bool:
        return self.until < self.slot.end


async def shift_view(session: AsyncSession, settings: Settings, scope: Scope, slot: ShiftSlot,
                     now: datetime) -> ShiftView:
    """The figures of [shift start, min(shift end, now)); the caller makes sure the shift has started."""
    until = min(slot.end, now)
    frames = await load_frames(session, slot.start, until, now, output=output_sources(settings))
    line_records = to_json_records(pick(_compute(frames, settings, slot.start, until, "line"), scope))
    names = dict((await session.execute(select(Machine.code, Machine.name).join(Line, Machine.line_id == Line.id)
                                        .where(Line.code == scope.code))).all())
    machine_frame = _compute(frames, settings, slot.start, until, "machine")
    machines = [record | {"name": names.get(record["machine"]) or record["machine"]}
                for record in to_json_records(machine_frame[machine_frame["line"] == scope.code])]
    reasons = dict((await session.execute(select(DowntimeReason.code, DowntimeReason.name_zh))).all())
    threshold = kpi_settings(settings).micro_stop_threshold_s
    downtime = downtime_by_reason(frames.states, list(names), slot.start, until, threshold)
    named = [(reasons.get(code, code) if code else NO_REASON, seconds) for code, seconds in downtime]
    return ShiftView(scope, slot, until, line_records[0] if line_records else None, machines, named)


def _compute(frames: KpiFrames, settings: Settings, start: datetime, end: datetime, by: str) -> pd.DataFrame:
    return kpis_of(frames, settings, start=start, end=end, by=by)


def downtime_by_reason(states: pd.DataFrame, machines: list[str], start: datetime, end: datetime,
                       micro_stop_threshold_s: float = 0) -> list[tuple[str | None, float]]:
    """Down time inside [start, end) per reason code, as the engine counts it: a down event (contiguous down
    intervals of one machine, taken whole) shorter than the micro-stop threshold is a speed loss, not down time."""
    down = states[(states["state"] == "down") & states["machine"].isin(machines)]
    if down.empty:
        return []
    down = down.sort_values(["machine", "start"]).reset_index(drop=True)
    new_event = (down["machine"] != down["machine"].shift()) | (down["start"] != down["end"].shift())
    event = new_event.cumsum()
    length = (down.groupby(event)["end"].transform("max") - down.groupby(event)["start"].transform("min"))
    down = down[length.dt.total_seconds() >= micro_stop_threshold_s]
    lower, upper = pd.Timestamp(start).tz_convert("UTC"), pd.Timestamp(end).tz_convert("UTC")
    seconds = (down["end"].clip(upper=upper) - down["start"].clip(lower=lower)).dt.total_seconds().clip(lower=0)
    totals: dict[str | None, float] = {}
    for raw, value in zip(down["reason"], seconds, strict=True):
        reason = raw if isinstance(raw, str) and raw else None  # a missing reason reads back as None or NaN
        if value > 0:
            totals[reason] = totals.get(reason, 0.0) + float(value)
    return sorted(totals.items(), key=lambda item: -item[1])
