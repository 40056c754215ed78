"""Charts asked for in chat (KPI / 指标): render, upload through media/upload, send as an image."""
from __future__ import annotations

from datetime import datetime

from bot.context import Services
from bot.kpi.charts import process_chart_requests
from bot.scheduler import Job


async def run(services: Services, now: datetime) -> None:
    await process_chart_requests(services, now)


# Not a singleton: requests are claimed row by row, so replicas share the work without a job_runs row per tick.
job = Job("kpi_charts", run, interval_s=3, singleton=False)
