"""Every value rendered into WeCom markdown or a card's JSON shows as text: a hostile line or machine name cannot
add a link, a colour, a heading or a quote, nor break the card JSON. Templates are discovered, so a new one
fails here until it has a sample context below."""
from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace as NS
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from jinja2 import nodes

from bot.kpi.scopes import Scope
from bot.plant_calendar import ShiftSlot
from bot.templates import CONTENT_DIR, Templates
from bot.wecom_markdown import md_escape

HOSTILE = ('L1 <font color="warning">停机</font>[点我](http://evil.example/x) **粗** _斜_ `码` \\ & '
           '"引号" \'单\'\n# 假标题\n> 假引用\r\n- 列表 </script>{{ 7 * 7 }}')
BENIGN = "一号线"
TEMPLATES = CONTENT_DIR / "templates"
DOWN = datetime(2025, 3, 4, 1, 30, tzinfo=UTC)


def record(text: str) -> dict[str, Any]:
    return {"line": text, "oee": 0.7, "availability": 0.9, "performance": 0.85, "quality": 0.95, "good": 120,
            "scrap": 3, "first_pass_yield": 0.97, "otd": 0.9, "orders_on_time": 9, "orders_due": 10, "down_s": 4000,
            "down_events": 2, "mtbf_s": 3600, "mttr_s": 300, "unknown_s": 120, "performance_flag": True}


def alert(text: str, level: int, status: str = "open") -> dict[str, Any]:
    later = DOWN + timedelta(minutes=20)
    row = NS(id=7, status=status, down_start=DOWN, acknowledged_at=later, fixed_at=later, recovered_at=later,
             reason_code=text, task_id="andon-7", source="manual", reason_at=later)
    view = NS(alert=row, machine_code=text, machine_name=text, line_code=text, line_name=text, line_id=1,
              caller=text)
    return {"v": view, "level": level, "minutes": 5, "reason": text, "task_id": "andon-7", "mine": False,
            "taker": text, "fixer": text, "reason_given": False, "reasons": [NS(code=text, name=text)]}


def operation(text: str) -> NS:
    return NS(work_order_code=text, seq=10, name=text, planned=100, unit=text, good=5, remaining=95, pending_good=3)


def reconciliation(text: str) -> dict[str, Any]:
    from bot.kpi.reconciliation import LineReconciliation, Row
    from bot.kpi.settings import KpiSettings

    slot = ShiftSlot(text, text, date(2025, 3, 3), DOWN, DOWN)
    rows = (Row(text, text, 900, 1000, (3, 4)), Row(text, None, 0, 50, ()), Row(text, text, 500, 450, (7,)))
    return {"line": LineReconciliation(1, text, text, slot, rows, rows), "slot": slot, "shown": rows[:2],
            "hidden": rows[2:], "config": KpiSettings(), "url": text}


def patrol(text: str, card: str) -> dict[str, Any]:
    from bot.patrols.definitions import parse_checklist
    from bot.patrols.views import CheckpointView, ItemState, RoundView

    items = [{"code": "a", "name": text, "kind": "number", "min": 1, "unit": text},
             {"code": "b", "name": text, "kind": "choice", "options": [text, "否"], "ng_options": ["否"]}]
    checklist = parse_checklist({"code": "X", "name": text, "schedule": {"kind": "daily", "times": ["08:00"]},
                                 "assign": {"users": [text]}, "checkpoints": [{"code": "A", "name": text,
                                                                              "items": items}]})
    row = NS(id=3, status="skipped", reason=text, window_start=DOWN, due_at=DOWN, too_fast=True, assignees=[text])
    answer = NS(value=text, number=None, ng=True, issue_ref=text)
    cp = CheckpointView(row, checklist, checklist.checkpoints[0], NS(unscanned=True),  # type: ignore[arg-type]
                        [ItemState(checklist.checkpoints[0].items[0], answer),  # type: ignore[arg-type]
                         ItemState(checklist.checkpoints[0].items[1])], {text: text})
    if card == "checkpoint":
        return {"c": cp, "task_id": "pat-c3-A", "url": text}
    return {"v": RoundView(row, checklist, text, [cp], [text]), "task_id": "pat-r3", "url": text}  # type: ignore


def issue_view(text: str) -> NS:
    person = NS(id=2, name=text, wecom_userid=text)
    issue = NS(id=1, number="Q-2026-0001", status="in_progress", title=text, category=text, priority="high",
               source="downtime", source_ref=text, due_on=date(2025, 3, 3), owner_id=2, verifier_id=3)
    return NS(issue=issue, reporter=person, owner=person, verifier=person, line=NS(code=text, name=text),
              machine=NS(code=text, name=text), photos=2, overdue_days=1)


def award(text: str) -> Any:
    parts = {"timely": 0.9, "correct": 1.0, "complete": 0.8}
    return NS(id=1, month="2026-11", category="entry",
              candidates=[{"user_id": 1, "name": text, "score": 92.0, "count": 30, "parts": parts}])


# One sample context per template, with `text` in every string a user, a master-data import or a config can set.
CONTEXTS: dict[str, Any] = {
    "issues/card_issue.json.j2": lambda t: {"v": issue_view(t), "actions": ["acc", "fwd", "res", "view"],
                                           "hint": "owner_new", "task_id": "iss-1-a"},
    "issues/card_reassign.json.j2": lambda t: {"v": issue_view(t), "candidates": [NS(id=3, name=t, wecom_userid=t)],
                                              "task_id": "iss-1-a"},
    "issues/card_due.json.j2": lambda t: {"v": issue_view(t), "choices": (0, 1, 3, 7), "task_id": "iss-1-a"},
    "issues/digest_card.json.j2": lambda t: {"url": "http://h/h5/issues/digest?week=2026-05-11", "d": NS(
        week=NS(iso="2026-W20", monday=date(2026, 5, 11), sunday=date(2026, 5, 17)),
        this=NS(new=1, closed=2, open=3, overdue=4), last=NS(new=0, closed=0, open=1, overdue=0),
        oldest=[NS(issue=issue_view(t).issue)])},
    "patrols/card_round.json.j2": lambda t: patrol(t, "round"),
    "patrols/card_checkpoint.json.j2": lambda t: patrol(t, "checkpoint"),
    "equipment/robot_down.md.j2": lambda t: alert(t, 0),
    "equipment/card_down.json.j2": lambda t: alert(t, 1, "fixed"),
    "kpi/daily.md.j2": lambda t: {"day": date(2025, 3, 3), "k": record(t), "lines": [record(t)], "names": {t: t},
                                  "target": {"oee": 0.85, "otd": 0.95}},
    "kpi/shift_card.json.j2": lambda t: {
        "scope": Scope("line", t, t), "slot": ShiftSlot(t, t, date(2025, 3, 3), DOWN, DOWN), "k": record(t),
        "target": {"oee": 0.85}, "url": t},
    "kpi/reconciliation_card.json.j2": lambda t: reconciliation(t),
    "reports/card_approval.json.j2": lambda t: {
        "kind": "over_report", "r": NS(id=1, operation=operation(t)), "old": (1, 2), "new": (3, 4), "reporter": t,
        "task_id": "rep-1", "change_id": 3},
    "reports/card_confirm.json.j2": lambda t: {
        "r": NS(status="recorded", id=1, good=3, scrap=2, reason_name=t, shift_day=date(2025, 3, 3), shift_name=t,
                operation=operation(t), undo_until=DOWN), "task_id": "rep-1", "undo_minutes": 10},
    "demo/rejected_card.json.j2": lambda t: {"task_id": "demo-1", "who": t, "result_text": t},
    "demo/showcase.json.j2": lambda t: {"user": NS(name=t, wecom_userid=t), "plant": NS(name=t), "today": t,
                                        "whoami_url": "http://127.0.0.1:8080/h5/demo/me", "task_id": "demo-1"},
    "training/card_trial.json.j2": lambda t: {
        "item": NS(code=t, title=t, version=2, duration_s=90.0, description=t), "task_id": "trn-1", "url": t,
        "promoter": True, "rater": True, "rating": NS(verdict="improve", comment=t), "released": False},
    "training/leaderboard.md.j2": lambda t: {"line": t, "leaders": [NS(name=t, minutes=3.5, completed=2)],
                                             "start": DOWN, "end": DOWN},
    "review/news.json.j2": lambda t: {"url": t, "r": NS(
        scope=Scope("line", t, t), label="2026-11", has_data=True, issues=NS(open_at_end=3),
        kpis=[NS(kpi=k, values={"this": 0.5}, changes={"last": NS(verdict="better", delta=0.1)})
              for k in ("oee", "otd")])},
    "review/card_award.json.j2": lambda t: {"award": award(t), "title": t, "winner": NS(id=1, name=t),
                                            "by": NS(name=t), "task_id": "rev-1-a"},
    "review/award_robot.md.j2": lambda t: {"award": award(t), "title": t, "winner": NS(id=1, name=t),
                                           "line": NS(name=t), "entry": award(t).candidates[0], "plant": t},
}
# Markdown that a JSON template carries (the demo's app and group-robot messages).
MARKDOWN_IN_JSON = {"demo/showcase.json.j2": (("markdown", "content"), ("group", "content"))}


def discovered(suffix: str) -> list[str]:
    return sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob(f"*{suffix}"))


@pytest.fixture(scope="module")
def templates() -> Templates:
    return Templates(ZoneInfo("Asia/Shanghai"))


def render(templates: Templates, name: str, text: str) -> str:
    assert name in CONTEXTS, f"{name}: add a sample context with hostile strings to CONTEXTS"
    return templates.render(name, **CONTEXTS[name](text))


def markup(markdown: str) -> dict[str, int]:
    """What WeCom would draw as markup: tags, links, bold, code, and lines starting a heading, quote or list."""
    lines = markdown.split("\n")
    return {
        "tags": len(re.findall(r"</?\s*[a-zA-Z]", markdown)),
        "links": len(re.findall(r"\[[^\]]*\]\s*\(", markdown)),
        "bold": markdown.count("**"), "code": markdown.count("`"), "underscore": markdown.count("_"),
        "headings": sum(line.lstrip().startswith("#") for line in lines),
        "quotes": sum(line.lstrip().startswith(">") for line in lines),
        "lines": len(lines),
    }


@pytest.mark.parametrize("name", discovered(".md.j2"))
def test_hostile_names_add_no_markup_to_markdown(templates: Templates, name: str) -> None:
    hostile = render(templates, name, HOSTILE)
    assert markup(hostile) == markup(render(templates, name, BENIGN))
    assert md_escape(HOSTILE) in hostile  # shown as text, not dropped nor HTML-escaped
    assert "evil.example/x)" not in hostile and "&lt;" not in hostile and "&amp;" not in hostile


def string_values(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in string_values(v)]
    if isinstance(value, list):
        return [s for v in value for s in string_values(v)]
    return [value] if isinstance(value, str) else []


def dig(card: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        card = card[key]
    return card


@pytest.mark.parametrize("name", discovered(".json.j2"))
def test_hostile_names_keep_card_json_intact(templates: Templates, name: str) -> None:
    hostile, benign = (json.loads(render(templates, name, text)) for text in (HOSTILE, BENIGN))
    assert hostile.keys() == benign.keys()
    values = string_values(hostile)
    assert any(HOSTILE in v or md_escape(HOSTILE) in v for v in values), "the name arrives whole"
    for path in MARKDOWN_IN_JSON.get(name, ()):
        assert markup(dig(hostile, path)) == markup(dig(benign, path)), path
        assert md_escape(HOSTILE) in dig(hostile, path)


@pytest.mark.parametrize("name", discovered(".json.j2"))
def test_every_value_in_a_json_template_goes_through_tojson(templates: Templates, name: str) -> None:
    """A `{{ value }}` without `| tojson` breaks the card on the first name with a quote in it."""
    source = (TEMPLATES / name).read_text(encoding="utf-8")
    for output in templates.env.parse(source).find_all(nodes.Output):
        for child in output.nodes:
            if not isinstance(child, nodes.TemplateData) and not constant(child):
                assert isinstance(child, nodes.Filter) and child.name == "tojson", f"{name}:{child.lineno}"


def constant(node: nodes.Node | None) -> bool:
    """A literal the template writes itself, such as the `","` between list items."""
    if node is None or isinstance(node, nodes.Const):
        return True
    return isinstance(node, nodes.CondExpr) and constant(node.expr1) and constant(node.expr2)


def test_md_escape_is_idempotent_and_keeps_plain_names() -> None:
    assert md_escape("L1-M2 立式加工中心 #3") == "L1-M2 立式加工中心 ＃3"
    assert md_escape(md_escape(HOSTILE)) == md_escape(HOSTILE)


def test_the_templates_own_markup_stays(templates: Templates) -> None:
    text = render(templates, "equipment/robot_down.md.j2", BENIGN)
    assert text.startswith('### <font color="warning">设备停机</font> 一号线') and "\n> 设备：一号线" in text
