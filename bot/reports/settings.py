"""`[reports]` in the config: who may report, how over-reporting is handled, shifts and scrap reasons."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
OVER_REPORT_POLICIES = ("refuse", "approve")


@dataclass
class ShiftSettings:
    """One shift of the plant's calendar, in plant-local time; an end before the start crosses midnight."""

    code: str = "D"
    name: str = "白班"
    start: str = "08:00"
    end: str = "20:00"


@dataclass
class ScrapReason:
    code: str = ""
    name: str = ""


def _default_shifts() -> list[ShiftSettings]:
    return [ShiftSettings("D", "白班", "08:00", "20:00"), ShiftSettings("N", "夜班", "20:00", "08:00")]


def _default_reasons() -> list[ScrapReason]:
    return [ScrapReason("DIM", "尺寸超差"), ScrapReason("LOOK", "外观不良"), ScrapReason("MAT", "来料不良"),
            ScrapReason("MACH", "设备故障"), ScrapReason("SETUP", "调机/首件"), ScrapReason("OTHER", "其他")]


@dataclass
class ReportsSettings:
    reporting_roles: list[str] = field(default_factory=lambda: ["operator", "team_lead"])
    approver_role: str = "team_lead"
    undo_minutes: int = 10
    over_report: str = "approve"  # refuse | approve (sent to the line's team lead on a card)
    tolerance_percent: float = 0.0
    tolerance_quantity: int = 0
    max_quantity: int = 1_000_000
    state_minutes: int = 30
    confirm_card: bool = True
    summary_lookback_minutes: int = 90
    summary_when_empty: bool = False
    shifts: list[ShiftSettings] = field(default_factory=_default_shifts)
    scrap_reasons: list[ScrapReason] = field(default_factory=_default_reasons)

    def validate(self) -> list[str]:
        problems = []
        if self.over_report not in OVER_REPORT_POLICIES:
            problems.append(f"over_report: one of {', '.join(OVER_REPORT_POLICIES)}, got {self.over_report!r}")
        if self.undo_minutes < 0:
            problems.append("undo_minutes: must not be negative")
        if self.tolerance_percent < 0 or self.tolerance_quantity < 0:
            problems.append("tolerance_percent/tolerance_quantity: must not be negative")
        if self.max_quantity < 1:
            problems.append("max_quantity: must be positive")
        if not self.shifts:
            problems.append("shifts: at least one shift")
        for i, shift in enumerate(self.shifts):
            for name in ("start", "end"):
                if not _HHMM.fullmatch(getattr(shift, name)):
                    problems.append(f"shifts[{i}].{name}: HH:MM, got {getattr(shift, name)!r}")
            if shift.start == shift.end:
                problems.append(f"shifts[{i}]: start and end are equal")
        if len({s.code for s in self.shifts}) != len(self.shifts):
            problems.append("shifts: codes must be unique")
        if len({r.code for r in self.scrap_reasons}) != len(self.scrap_reasons) or any(
                not r.code or not r.name for r in self.scrap_reasons):
            problems.append("scrap_reasons: each needs a unique code and a name")
        if not self.scrap_reasons:
            problems.append("scrap_reasons: at least one reason")
        return problems

    def reason_name(self, code: str | None) -> str:
        return next((r.name for r in self.scrap_reasons if r.code == code), code or "")
