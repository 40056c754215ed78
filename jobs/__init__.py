"""Scheduled jobs, one module each; JOBS is the list the app schedules."""
from bot.scheduler import Job
from jobs import (
    andon_escalation,
    equipment_poll,
    issues_digest,
    issues_downtime,
    issues_photos,
    issues_reminders,
    kpi_daily,
    kpi_reconciliation,
    kpi_shift_summary,
    kpi_thresholds,
    patrols_dispatch,
    patrols_escalation,
    report_summary,
    review_monthly,
    training_leaderboard,
    training_reminders,
)

JOBS: list[Job] = [equipment_poll.job, andon_escalation.job, kpi_shift_summary.job, kpi_daily.job,
                   kpi_thresholds.job, kpi_reconciliation.job, report_summary.job,
                   patrols_dispatch.job, patrols_escalation.job,
                   training_reminders.job, training_leaderboard.job,
                   issues_photos.job, issues_reminders.job, issues_downtime.job, issues_digest.job,
                   review_monthly.job]
