"""KPIs straight from the database: load the window's frames, run the engine with the plant's settings."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from bot.kpi.data import KpiFrames, load_frames, output_sources
from bot.kpi.engine import compute_kpis
from bot.kpi.settings import KpiSettings
from bot.kpi.summed import load_window
from bot.settings import Settings


def kpi_settings(settings: Settings) -> KpiSettings:
    return settings.feature("kpi")


def shifts_of(settings: Settings) -> list[tuple[str, str, str]]:
    return settings.calendar.engine_shifts()


async def kpis_from_db(session: AsyncSession, settings: Settings, *, start: datetime, end: datetime,
                       by: str = "machine", every: str | None = None, now: datetime,
                       micro_stop_threshold_s: float | None = None) -> pd.DataFrame:
    """One row per (group, period) of [start, end), as bot.kpi.compute_kpis defines them. One period (every=None)
    is loaded with the database's sums (bot/kpi/summed.py), the same figures at a fraction of the rows."""
    output = output_sources(settings)
    frames = (await load_window(session, start, end, now, output=output)).frames if every is None else \
        await load_frames(session, start, end, now, output=output)
    return kpis_of(frames, settings, start=start, end=end, by=by, every=every,
                   micro_stop_threshold_s=micro_stop_threshold_s)


def kpis_of(frames: KpiFrames, settings: Settings, *, start: datetime, end: datetime, by: str,
            every: str | None = None, micro_stop_threshold_s: float | None = None) -> pd.DataFrame:
    """The engine on frames already loaded, with the plant's shifts, zone and micro-stop threshold: one place, so
    a page that loads once and computes several groupings gets the figures `kpis_from_db` would."""
    threshold = (kpi_settings(settings).micro_stop_threshold_s if micro_stop_threshold_s is None
                 else micro_stop_threshold_s)
    return compute_kpis(frames.states, frames.reports, frames.machines, frames.work_orders, frames.alerts,
                        frames.counts, start=start, end=end, by=by, every=every, shifts=shifts_of(settings),
                        tz=settings.plant.timezone, micro_stop_threshold_s=threshold, state_time=frames.state_time)
