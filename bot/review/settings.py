"""`[review]` in the config: the pre-rollout baseline period, the targets and who gets the monthly review."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

# KPIs the review compares; for these lower is better, for every other one higher is better.
REVIEW_KPIS: tuple[str, ...] = ("oee", "availability", "performance", "quality", "mtbf_s", "mttr_s",
                                "mttr_response_s", "mttr_repair_s", "first_pass_yield", "otd", "output_vs_plan")
LOWER_IS_BETTER = frozenset({"mttr_s", "mttr_response_s", "mttr_repair_s"})


@dataclass
class ReviewTarget:
    kpi: str = "otd"
    value: float = 0.95  # a ratio (0.95 = 95 %) or seconds for the *_s KPIs


def _default_targets() -> list[ReviewTarget]:
    return [ReviewTarget("otd", 0.95), ReviewTarget("oee", 0.65), ReviewTarget("first_pass_yield", 0.98)]


@dataclass
class ReviewSettings:
    # The as-is before rollout, plant-local days, both inclusive; empty: no baseline column.
    baseline_start: str = ""
    baseline_end: str = ""
    targets: list[ReviewTarget] = field(default_factory=_default_targets)
    recipient_roles: list[str] = field(default_factory=lambda: ["manager"])  # get the review on the 1st
    viewer_roles: list[str] = field(default_factory=lambda: ["team_lead", "manager", "pm"])
    top: int = 10  # Pareto bars
    worst_machines: int = 5

    @property
    def baseline(self) -> tuple[date, date] | None:
        if not self.baseline_start or not self.baseline_end:
            return None
        return date.fromisoformat(self.baseline_start), date.fromisoformat(self.baseline_end)

    def target(self, kpi: str) -> float | None:
        return next((t.value for t in self.targets if t.kpi == kpi), None)

    def validate(self) -> list[str]:
        problems = []
        try:
            window = self.baseline
        except ValueError:
            problems.append("baseline_start/baseline_end: dates like 2026-03-01")
            window = None
        if window and window[0] > window[1]:
            problems.append("baseline_start: must not be after baseline_end")
        if bool(self.baseline_start) != bool(self.baseline_end):
            problems.append("baseline_start/baseline_end: give both or neither")
        for i, target in enumerate(self.targets):
            if target.kpi not in REVIEW_KPIS:
                problems.append(f"targets[{i}].kpi: one of {', '.join(REVIEW_KPIS)}, got {target.kpi!r}")
            if target.value < 0:
                problems.append(f"targets[{i}].value: must not be negative")
        if self.top < 1 or self.worst_machines < 0:
            problems.append("top: at least 1; worst_machines: not negative")
        return problems
