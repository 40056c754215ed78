"""One load of a month's KPI inputs, many uses: the scope's record, the machines' ranking and the downtime Pareto
all come from the same frames, each engine call made exactly as `kpis_from_db` makes it (the load is what costs:
at plant scale it is almost all of a KPI call, see docs/benchmarks.md)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from bot.kpi import to_json_records
from bot.kpi.data import KpiFrames, output_sources
from bot.kpi.scopes import Scope, pick
from bot.kpi.service import kpis_of
from bot.kpi.summed import ReportFacts, load_window
from bot.review.kpis import Window, has_data
from bot.settings import Settings


@dataclass
class MonthInputs:
    frames: KpiFrames
    facts: ReportFacts  # the month's confirmed reports in groups

    def line_facts(self, line: str | None) -> ReportFacts:
        if line is None:
            return self.facts
        return self.facts.on_machines(self.frames.machines.loc[self.frames.machines["line"] == line, "machine"])


async def load(session: AsyncSession, settings: Settings, window: Window, now: datetime) -> MonthInputs:
    loaded = await load_window(session, window.start, window.end, now, output=output_sources(settings))
    return MonthInputs(loaded.frames, loaded.facts)


def compute(frames: KpiFrames, settings: Settings, window: Window, by: str) -> pd.DataFrame:
    return kpis_of(frames, settings, start=window.start, end=window.end, by=by)


def record(frames: KpiFrames, settings: Settings, scope: Scope, window: Window) -> dict[str, Any] | None:
    rows = to_json_records(pick(compute(frames, settings, window, scope.kind), scope))
    return rows[0] if rows and has_data(rows[0]) else None


def worst_machines(frames: KpiFrames, settings: Settings, scope: Scope, window: Window,
                   limit: int) -> list[dict[str, Any]]:
    """Lowest OEE first; machines without an OEE (no time) are left out, not ranked as zero."""
    frame = compute(frames, settings, window, "machine")
    if scope.kind == "line":
        frame = frame[frame["line"] == scope.code]
    return to_json_records(frame[frame["oee"].notna()].sort_values(["oee", "machine"]).head(limit))


def downtime_minutes(frames: KpiFrames, window: Window, now: datetime, *, line: str | None,
                     micro_stop_s: float) -> dict[str, float]:
    """Minutes per reason code ("" without one) of the down intervals, clipped to the window (an open one ends
    now); an interval shorter than the micro-stop threshold is a speed loss, as in the engine, and left out."""
    states = frames.states
    if not len(states):
        return {}
    down = states[states["state"] == "down"]
    if line is not None:
        codes = frames.machines.loc[frames.machines["line"] == line, "machine"]
        down = down[down["machine"].isin(codes)]
    down = down[(down["end"] - down["start"]).dt.total_seconds() >= micro_stop_s]
    limit = pd.Timestamp(min(window.end, now))
    seconds = ((down["end"].clip(upper=limit) - down["start"].clip(lower=pd.Timestamp(window.start)))
               .dt.total_seconds())
    kept = seconds > 0
    reasons = down.loc[kept, "reason"].fillna("").astype(str)
    totals = (seconds[kept] / 60).groupby(reasons.to_numpy()).sum()
    return {str(code): float(minutes) for code, minutes in totals.items()}
