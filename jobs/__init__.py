"""Scheduled jobs, one module each; JOBS is the list the app schedules."""
from bot.scheduler import Job
from jobs import (
    andon_escalation,
    equipment_poll,
    kpi_charts,
    kpi_daily,
    kpi_shift_summary,
    kpi_thresholds,
    report_summary,
)

JOBS: list[Job] = [equipment_poll.job, andon_escalation.job, kpi_shift_summary.job, kpi_daily.job,
                   kpi_thresholds.job, kpi_charts.job, report_summary.job]
