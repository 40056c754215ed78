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
class RecognitionSettings:
    """月度之星: who may win what, by the formula in docs/review.md (weights sum to 1)."""

    enabled: bool = True
    timely_minutes: int = 30  # a report within this long after its shift's end is on time
    min_reports: int = 20  # fewer confirmed reports in the month: not a data-entry candidate
    min_rounds: int = 4  # fewer patrol rounds assigned: not a patrol candidate
    min_issues: int = 2  # fewer issues closed as owner: not an issue candidate
    candidates: int = 3  # per award, one confirm button each
    weight_timely: float = 0.4
    weight_correct: float = 0.4
    weight_complete: float = 0.2


@dataclass
class DefinitionChange:
    """A KPI whose definition changed on `date` (e.g. the micro-stop threshold): comparisons across it are footnoted."""

    date: str = ""  # plant-local day the new definition took effect, 2026-10-15
    kpi: str = ""  # one of REVIEW_KPIS, or "*" for all of them
    text: str = ""  # what changed, as the footnote says it (Chinese)


@dataclass
class ReviewRobot:
    """A line's group robot that hears the month's winners (empty list: the [[equipment.lines]] webhook keys)."""

    line: str = ""
    webhook_key: str = ""


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
    recognition: RecognitionSettings = field(default_factory=RecognitionSettings)
    robots: list[ReviewRobot] = field(default_factory=list)
    definition_changes: list[DefinitionChange] = field(default_factory=list)

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
        for i, changed in enumerate(self.definition_changes):
            try:
                date.fromisoformat(changed.date)
            except ValueError:
                problems.append(f"definition_changes[{i}].date: a day like 2026-10-15, got {changed.date!r}")
            if changed.kpi != "*" and changed.kpi not in REVIEW_KPIS:
                problems.append(f"definition_changes[{i}].kpi: one of {', '.join(REVIEW_KPIS)} or *")
            if not changed.text:
                problems.append(f"definition_changes[{i}].text: say what changed")
        rec = self.recognition
        if abs(rec.weight_timely + rec.weight_correct + rec.weight_complete - 1) > 1e-9:
            problems.append("recognition: weight_timely + weight_correct + weight_complete must be 1")
        if not 1 <= rec.candidates <= 5:
            problems.append("recognition.candidates: 1 to 5 (one button each)")
        if self.top < 1 or self.worst_machines < 0:
            problems.append("top: at least 1; worst_machines: not negative")
        return problems
