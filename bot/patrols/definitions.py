"""Checklist definitions a plant edits without code (content/patrols/*.toml), checked in full at start.

A definition is plain data; every problem becomes one readable line so a plant fixes a file in one go. The
same checks run when the service loads the files, so a definition that reaches a round is always usable.
"""
from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.models import Role
from bot.plant_calendar import HHMM

SCOPES = ("plant", "line", "machine", "machine_type")
SCHEDULES = ("daily", "shift", "weekly", "hourly")
ITEM_KINDS = ("ok_ng", "number", "choice", "text", "photo")
PHOTO_RULES = ("never", "always", "on_ng")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ROLES = tuple(r.value for r in Role)
CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    kind: str = "ok_ng"
    photo: str = "never"  # never | always | on_ng
    low: float | None = None
    high: float | None = None
    unit: str = ""
    options: tuple[str, ...] = ()
    ng_options: tuple[str, ...] = ()  # choices that count as NG

    def photo_needed(self, ng: bool) -> bool:
        return self.kind == "photo" or self.photo == "always" or (self.photo == "on_ng" and ng)


@dataclass(frozen=True)
class Checkpoint:
    code: str
    name: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Checklist:
    """One checklist as loaded; `digest` names its content so an edit becomes a new version."""

    code: str
    name: str
    scope: str
    target: str  # the line or machine code, or the machine type; "" for the plant
    schedule: str
    times: tuple[str, ...] = ()
    days: tuple[str, ...] = ()
    every_hours: int = 0
    shifts: tuple[str, ...] = ()  # per shift: only these shift codes (empty: every shift)
    role: str = ""
    users: tuple[str, ...] = ()
    rotation: tuple[str, ...] = ()
    start_min: int = 0  # the window opens this many minutes after the slot
    due_min: int = 60
    end_min: int = 0  # the window closes (漏检) this many minutes after the slot; 0: at the shift end or due + 2 h
    issue_category: str = "设备"  # the issue list's category: its assignment rule picks the owner
    min_minutes: float = 0.0  # a round finished faster than this is flagged
    checkpoints: tuple[Checkpoint, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.raw, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def checkpoint(self, code: str) -> Checkpoint | None:
        return next((c for c in self.checkpoints if c.code == code), None)


class DefinitionError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _strs(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.append(f"{where}: a list of names")
        return ()
    return tuple(value)


def _num(value: Any, where: str, problems: list[str]) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{where}: a number, got {value!r}")
        return None
    return float(value)


def _item(raw: Any, where: str, problems: list[str]) -> Item | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a table")
        return None
    code, name, kind = raw.get("code"), raw.get("name"), raw.get("kind", "ok_ng")
    if not isinstance(code, str) or not CODE.fullmatch(code):
        problems.append(f"{where}.code: required, 1-32 of letters, digits, - and _")
    if not isinstance(name, str) or not name:
        problems.append(f"{where}.name: required")
    if kind not in ITEM_KINDS:
        problems.append(f"{where}.kind: one of {', '.join(ITEM_KINDS)}, got {kind!r}")
    photo = raw.get("photo", "never")
    if photo not in PHOTO_RULES:
        problems.append(f"{where}.photo: one of {', '.join(PHOTO_RULES)}, got {photo!r}")
    low, high = _num(raw.get("min"), f"{where}.min", problems), _num(raw.get("max"), f"{where}.max", problems)
    if kind == "number" and low is None and high is None:
        problems.append(f"{where}: a number item needs min or max")
    if low is not None and high is not None and low > high:
        problems.append(f"{where}: min is above max")
    options = _strs(raw.get("options"), f"{where}.options", problems)
    ng_options = _strs(raw.get("ng_options"), f"{where}.ng_options", problems)
    if kind == "choice" and not 2 <= len(options) <= 5:
        problems.append(f"{where}.options: a choice needs 2 to 5 options")
    if set(ng_options) - set(options):
        problems.append(f"{where}.ng_options: must be among the options")
    unknown = set(raw) - {"code", "name", "kind", "photo", "min", "max", "unit", "options", "ng_options"}
    problems.extend(f"{where}.{key}: unknown key" for key in sorted(unknown))
    return Item(str(code or ""), str(name or ""), str(kind), str(photo), low, high, str(raw.get("unit", "")),
                options, ng_options)


def _checkpoints(raw: Any, problems: list[str]) -> tuple[Checkpoint, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append("checkpoints: at least one [[checkpoints]]")
        return ()
    out = []
    for i, cp in enumerate(raw):
        where = f"checkpoints[{i}]"
        if not isinstance(cp, dict):
            problems.append(f"{where}: expected a table")
            continue
        code, name = cp.get("code"), cp.get("name")
        if not isinstance(code, str) or not CODE.fullmatch(code):
            problems.append(f"{where}.code: required, 1-32 of letters, digits, - and _")
        if not isinstance(name, str) or not name:
            problems.append(f"{where}.name: required")
        items_raw = cp.get("items")
        if not isinstance(items_raw, list) or not items_raw:
            problems.append(f"{where} ({code}): a checkpoint needs at least one item")
            items_raw = []
        parsed = [_item(raw_item, f"{where}.items[{j}]", problems) for j, raw_item in enumerate(items_raw)]
        items = [it for it in parsed if it is not None]
        if len({it.code for it in items}) != len(items):
            problems.append(f"{where}: item codes must be unique")
        out.append(Checkpoint(str(code or ""), str(name or ""), tuple(items)))
    if len({c.code for c in out}) != len(out):
        problems.append("checkpoints: codes must be unique")
    return tuple(out)


def parse_checklist(raw: dict[str, Any], shift_codes: set[str] | None = None) -> Checklist:
    """One definition; DefinitionError with every problem."""
    problems: list[str] = []
    code, name = raw.get("code"), raw.get("name")
    if not isinstance(code, str) or not CODE.fullmatch(code):
        problems.append("code: required, 1-32 of letters, digits, - and _")
    if not isinstance(name, str) or not name:
        problems.append("name: required")
    scope = raw.get("scope") if isinstance(raw.get("scope"), dict) else {}
    scope_kind = scope.get("kind", "plant")
    target = str(scope.get("line") or scope.get("machine") or scope.get("type") or "")
    if scope_kind not in SCOPES:
        problems.append(f"scope.kind: one of {', '.join(SCOPES)}, got {scope_kind!r}")
    elif scope_kind != "plant" and not target:
        key = {"line": "line", "machine": "machine", "machine_type": "type"}[scope_kind]
        problems.append(f"scope.{key}: required for a {scope_kind} scope")
    sched = raw.get("schedule") if isinstance(raw.get("schedule"), dict) else {}
    kind = sched.get("kind")
    times = _strs(sched.get("times"), "schedule.times", problems)
    days = _strs(sched.get("days"), "schedule.days", problems)
    shifts = _strs(sched.get("shifts"), "schedule.shifts", problems)
    every = sched.get("every_hours", 0)
    if kind not in SCHEDULES:
        problems.append(f"schedule.kind: one of {', '.join(SCHEDULES)}, got {kind!r}")
    if kind in ("daily", "weekly") and not times:
        problems.append(f"schedule.times: a {kind} schedule needs times, e.g. [\"08:00\"]")
    problems.extend(f"schedule.times: {t!r} is not HH:MM" for t in times if not HHMM.fullmatch(t))
    if kind == "weekly" and not days:
        problems.append("schedule.days: a weekly schedule needs days, e.g. [\"mon\", \"thu\"]")
    problems.extend(f"schedule.days: {d!r} is not one of {', '.join(WEEKDAYS)}" for d in days if d not in WEEKDAYS)
    if kind == "hourly" and (isinstance(every, bool) or not isinstance(every, int) or not 1 <= every <= 24
                             or 24 % every):
        problems.append(f"schedule.every_hours: a divisor of 24 (1, 2, 3, 4, 6, 8, 12, 24), got {every!r}")
    if shift_codes is not None:
        problems.extend(f"schedule.shifts: no shift {s!r} in [[plant.shifts]]" for s in shifts if s not in shift_codes)
    assign = raw.get("assign") if isinstance(raw.get("assign"), dict) else {}
    role = assign.get("role", "")
    users = _strs(assign.get("users"), "assign.users", problems)
    rotation = _strs(assign.get("rotation"), "assign.rotation", problems)
    if sum(bool(x) for x in (role, users, rotation)) != 1:
        problems.append("assign: give exactly one of role, users or rotation")
    if role and role not in ROLES:
        problems.append(f"assign.role: unknown role {role!r} (known: {', '.join(ROLES)})")
    window = raw.get("window") if isinstance(raw.get("window"), dict) else {}
    start_min, due_min, end_min = (window.get(k, d) for k, d in (("start_min", 0), ("due_min", 60), ("end_min", 0)))
    for key, value in (("start_min", start_min), ("due_min", due_min), ("end_min", end_min)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(f"window.{key}: minutes, a whole number >= 0, got {value!r}")
    if not problems and due_min <= start_min:
        problems.append("window: due_min must come after start_min")
    if not problems and end_min and end_min < due_min:
        problems.append("window: end_min must not come before due_min")
    issue = raw.get("issue") if isinstance(raw.get("issue"), dict) else {}
    category = issue.get("category", "设备")
    if not isinstance(category, str) or not category:
        problems.append("issue.category: the issue list's category of an NG, e.g. \"设备\"")
    problems.extend(f"issue.{key}: unknown key" for key in sorted(set(issue) - {"category"}))
    min_minutes = _num(raw.get("min_minutes", 0), "min_minutes", problems) or 0.0
    checkpoints = _checkpoints(raw.get("checkpoints"), problems)
    known = {"code", "name", "scope", "schedule", "assign", "window", "issue", "min_minutes", "checkpoints"}
    problems.extend(f"{key}: unknown key" for key in sorted(set(raw) - known))
    if problems:
        raise DefinitionError(problems)
    return Checklist(str(code), str(name), scope_kind, target, kind, times, days, int(every or 0), shifts, role,
                     users, rotation, int(start_min), int(due_min), int(end_min), str(category), min_minutes,
                     checkpoints, raw)


def load_checklists(folder: Path, shift_codes: set[str] | None = None) -> tuple[list[Checklist], list[str]]:
    """Every *.toml in `folder`, and every problem as "<file>: <problem>"; duplicate codes are a problem too."""
    found: list[Checklist] = []
    problems: list[str] = []
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
            found.append(parse_checklist(raw, shift_codes))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            problems.append(f"{path.name}: not valid TOML: {exc}")
        except DefinitionError as exc:
            problems.extend(f"{path.name}: {problem}" for problem in exc.problems)
    codes = [c.code for c in found]
    problems.extend(f"code {code!r} is used by two files" for code in sorted({c for c in codes if codes.count(c) > 1}))
    return found, problems
