"""`[reports]` in the config: who may report, how over-reporting is handled, shifts and scrap reasons."""
from __future__ import annotations

from dataclasses import dataclass, field

from bot.plant_calendar import ShiftSettings

OVER_REPORT_POLICIES = ("refuse", "approve")
UNDO_AFTER_APPROVAL = ("approve", "refuse")  # undoing a report a team lead approved: ask again, or refuse


@dataclass
class ScrapReason:
    code: str = ""
    name: str = ""


def _default_reasons() -> list[ScrapReason]:
    return [ScrapReason("DIM", "尺寸超差"), ScrapReason("LOOK", "外观不良"), ScrapReason("MAT", "来料不良"),
            ScrapReason("MACH", "设备故障"), ScrapReason("SETUP", "调机/首件"), ScrapReason("OTHER", "其他")]


@dataclass
class ReportsSettings:
    reporting_roles: list[str] = field(default_factory=lambda: ["operator", "team_lead"])
    approver_role: str = "team_lead"
    undo_minutes: int = 10
    over_report: str = "approve"  # refuse | approve (sent to the line's team lead on a card)
    undo_after_approval: str = "approve"  # approve (the team lead decides again) | refuse
    tolerance_percent: float = 0.0
    tolerance_quantity: int = 0
    max_quantity: int = 1_000_000
    state_minutes: int = 30
    confirm_card: bool = True
    summary_lookback_minutes: int = 90
    summary_when_empty: bool = False
    shifts: list[ShiftSettings] = field(default_factory=list)  # deprecated: read into [plant] shifts at load
    scrap_reasons: list[ScrapReason] = field(default_factory=_default_reasons)

    def validate(self) -> list[str]:
        problems = []
        if self.over_report not in OVER_REPORT_POLICIES:
            problems.append(f"over_report: one of {', '.join(OVER_REPORT_POLICIES)}, got {self.over_report!r}")
        if self.undo_after_approval not in UNDO_AFTER_APPROVAL:
            problems.append(f"undo_after_approval: one of {', '.join(UNDO_AFTER_APPROVAL)}, "
                            f"got {self.undo_after_approval!r}")
        if self.undo_minutes < 0:
            problems.append("undo_minutes: must not be negative")
        if self.tolerance_percent < 0 or self.tolerance_quantity < 0:
            problems.append("tolerance_percent/tolerance_quantity: must not be negative")
        if self.max_quantity < 1:
            problems.append("max_quantity: must be positive")
        if len({r.code for r in self.scrap_reasons}) != len(self.scrap_reasons) or any(
                not r.code or not r.name for r in self.scrap_reasons):
            problems.append("scrap_reasons: each needs a unique code and a name")
        if not self.scrap_reasons:
            problems.append("scrap_reasons: at least one reason")
        return problems

    def reason_name(self, code: str | None) -> str:
        return next((r.name for r in self.scrap_reasons if r.code == code), code or "")
