"""`[issues]` in the config: categories, who owns what (assignment rules), due dates, reminders, escalation and
the downtime hooks. Every field has a default, so a plant starts with a working list and edits what differs."""
from __future__ import annotations

from dataclasses import dataclass, field

from bot.models import Role

ROLES = {r.value for r in Role}
PRIORITIES = ("high", "medium", "low")


def _default_categories() -> list[str]:
    return ["系统问题", "流程问题", "培训需求", "设备", "质量", "需求建议"]


@dataclass
class AssignmentRule:
    """Issues of `category` (on `line`, a line code, or any line when empty) go to one of `users` (WeCom ids),
    else to a holder of one of `roles` on the issue's line (plant-wide holders too), the least busy first."""

    category: str = ""
    line: str = ""
    users: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)


def _default_rules() -> list[AssignmentRule]:
    return [AssignmentRule("设备", roles=["maintenance"]), AssignmentRule("质量", roles=["qc"]),
            AssignmentRule("系统问题", roles=["pm"]), AssignmentRule("需求建议", roles=["pm"]),
            AssignmentRule("流程问题", roles=["team_lead"]), AssignmentRule("培训需求", roles=["team_lead"])]


@dataclass
class IssuesSettings:
    categories: list[str] = field(default_factory=_default_categories)
    rules: list[AssignmentRule] = field(default_factory=_default_rules)
    fallback_roles: list[str] = field(default_factory=lambda: ["team_lead", "pm"])  # in this order
    pm_role: str = "pm"
    manager_role: str = "manager"
    owner_roles: list[str] = field(default_factory=lambda: [
        "maintenance", "team_lead", "qc", "dispatcher", "pm", "manager"])  # offered by 转派
    due_days_high: int = 1
    due_days_medium: int = 3
    due_days_low: int = 7
    escalate_pm_days: int = 2  # overdue this many days: the PMs are told, once
    escalate_manager_days: int = 5  # then the managers, once
    escalation_cards_max: int = 3  # more issues escalating to one person at once come as one list instead
    state_minutes: int = 10  # how long the chat waits for the category or a photo
    machine_category: str = "设备"  # `问题 设备 <设备编码> …` and a machine label's 报告问题
    max_photos: int = 6
    max_photo_mb: int = 10
    photo_attempts: int = 5
    downtime_category: str = "设备"
    downtime_other_reason: str = "OTHER"  # an alert fixed with this reason opens an issue
    repeat_stops: int = 3  # a machine stopping this often within repeat_window_hours opens an issue
    repeat_window_hours: int = 24

    def validate(self) -> list[str]:
        problems = []
        if not self.categories or len(set(self.categories)) != len(self.categories) or not all(self.categories):
            problems.append("categories: at least one, each a unique non-empty name")
        if any(len(c) > 32 for c in self.categories):
            problems.append("categories: at most 32 characters each")
        for i, rule in enumerate(self.rules):
            if rule.category and rule.category != "*" and rule.category not in self.categories:
                problems.append(f"rules[{i}].category: {rule.category!r} is not in categories")
            if not rule.users and not rule.roles:
                problems.append(f"rules[{i}]: give users or roles")
            problems += [f"rules[{i}].roles: unknown role {r!r}" for r in rule.roles if r not in ROLES]
        for name in ("fallback_roles", "owner_roles"):
            problems += [f"{name}: unknown role {r!r}" for r in getattr(self, name) if r not in ROLES]
        for name in ("pm_role", "manager_role"):
            if getattr(self, name) not in ROLES:
                problems.append(f"{name}: unknown role {getattr(self, name)!r}")
        if min(self.due_days_high, self.due_days_medium, self.due_days_low) < 0:
            problems.append("due_days_*: must not be negative")
        if not 0 < self.escalate_pm_days <= self.escalate_manager_days:
            problems.append("escalate_pm_days: positive and at most escalate_manager_days")
        if not 1 <= self.max_photo_mb <= 10:
            problems.append("max_photo_mb: 1 to 10 (WeCom keeps images up to 10 MB)")
        if self.repeat_stops < 2 or self.repeat_window_hours < 1:
            problems.append("repeat_stops: at least 2; repeat_window_hours: at least 1")
        if self.state_minutes < 1 or self.max_photos < 1 or self.photo_attempts < 1:
            problems.append("state_minutes, max_photos, photo_attempts: at least 1")
        return problems

    def due_days(self, priority: str) -> int:
        return {"high": self.due_days_high, "low": self.due_days_low}.get(priority, self.due_days_medium)

    def rule_for(self, category: str, line_code: str | None) -> AssignmentRule | None:
        """The first rule for this category and line; a rule without a line (or category "*") fits any."""
        for rule in self.rules:
            if rule.category in (category, "*", "") and rule.line in ("", line_code or ""):
                return rule
        return None
