"""`[kpi]` in the config: targets per KPI and scope, the micro-stop threshold, shifts and push schedules."""
from __future__ import annotations

from dataclasses import dataclass, field

from bot.plant_calendar import ShiftSettings

# KPIs a target may name; for the *_s ones lower is better (a breach is a value above the target).
TARGET_KPIS = ("oee", "availability", "performance", "quality", "first_pass_yield", "otd", "output_vs_plan",
               "mtbf_s", "mttr_s")
LOWER_IS_BETTER = {"mttr_s"}
SCOPES = ("plant", "line", "machine")


@dataclass
class KpiTarget:
    """A target for one KPI; `code` narrows a line/machine scope to one line or machine (empty: each one)."""

    kpi: str = "oee"
    scope: str = "plant"
    code: str = ""
    value: float = 0.85

    def breached(self, actual: float) -> bool:
        return actual > self.value if self.kpi in LOWER_IS_BETTER else actual < self.value


def _default_targets() -> list[KpiTarget]:
    return [KpiTarget("oee", "plant", "", 0.85), KpiTarget("otd", "plant", "", 0.95),
            KpiTarget("oee", "line", "", 0.85)]


@dataclass
class KpiSettings:
    targets: list[KpiTarget] = field(default_factory=_default_targets)
    micro_stop_threshold_s: float = 0.0  # down events shorter than this are speed losses; 0 = off
    shifts: list[ShiftSettings] = field(default_factory=list)  # deprecated: read into [plant] shifts at load
    shift_summary: bool = True  # a card to each line's team lead after every shift
    shift_summary_delay_min: int = 5  # wait for late reports before summarising a shift
    daily_summary: bool = True  # the previous day's plant summary to managers (schedule: [jobs.kpi_daily])
    threshold_alerts: bool = True  # schedule: [jobs.kpi_thresholds]
    threshold_min_planned_min: float = 60.0  # evaluate a shift only after this much planned time
    chart_days: int = 14  # days shown in the chat chart
    # Per shift and line, reported vs counted parts of the `output = "both"` machines, to the team leads
    # when they differ by more than both tolerances (0 turns a tolerance off). Schedule: [jobs.kpi_reconciliation]
    reconciliation: bool = True
    reconciliation_tolerance_pct: float = 2.0  # of the larger of reported and counted
    reconciliation_tolerance_pieces: int = 10

    def validate(self) -> list[str]:
        problems = []
        for i, target in enumerate(self.targets):
            if target.kpi not in TARGET_KPIS:
                problems.append(f"targets[{i}].kpi: one of {', '.join(TARGET_KPIS)}, got {target.kpi!r}")
            if target.scope not in SCOPES:
                problems.append(f"targets[{i}].scope: one of {', '.join(SCOPES)}, got {target.scope!r}")
            if target.scope == "plant" and target.code:
                problems.append(f"targets[{i}].code: a plant target takes no code")
            if target.value < 0:
                problems.append(f"targets[{i}].value: must not be negative")
        if self.micro_stop_threshold_s < 0:
            problems.append("micro_stop_threshold_s: must not be negative")
        if self.shift_summary_delay_min < 0:
            problems.append("shift_summary_delay_min: must not be negative")
        if not 1 <= self.chart_days <= 92:
            problems.append("chart_days: between 1 and 92")
        if self.reconciliation_tolerance_pct < 0 or self.reconciliation_tolerance_pieces < 0:
            problems.append("reconciliation_tolerance_pct, reconciliation_tolerance_pieces: must not be negative")
        return problems

    def target_for(self, kpi: str, scope: str, code: str) -> KpiTarget | None:
        """The most specific target: one naming this line/machine, else the scope-wide one."""
        exact = [t for t in self.targets if t.kpi == kpi and t.scope == scope and t.code == code and code]
        general = [t for t in self.targets if t.kpi == kpi and t.scope == scope and not t.code]
        return (exact or general or [None])[0]
