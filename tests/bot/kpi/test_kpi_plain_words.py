"""Every KPI text, card and page says in words why a figure is missing: no bare `—`, no
`无数据 4分（未计入运行或停机）`. Templates are discovered, so a new one fails here until it has a context."""
from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.kpi.scopes import Scope
from bot.kpi.shift_view import ShiftView
from bot.plant_calendar import ShiftSlot
from bot.templates import CONTENT_DIR, Templates

NOW = datetime(2026, 1, 5, 1, 30, tzinfo=UTC)
SLOT = ShiftSlot("D", "白班", date(2026, 1, 5), datetime(2026, 1, 5, 0, 0, tzinfo=UTC), NOW)
LINE = Scope("line", "L1", "一号线")
DASHES = re.compile(r"[—–-]\s*$|[—]|：\s*-|\s-\s")


def record(**values: Any) -> dict[str, Any]:
    """A period nobody can compute a ratio for: no state but 4 minutes without signal, nothing made, no orders."""
    base = {"line": "L1", "machine": "M1", "name": "冲压机1", "planned_s": 0, "run_s": 0, "down_s": 0, "idle_s": 0,
            "setup_s": 0, "planned_stop_s": 0, "unknown_s": 240, "micro_stop_s": 0, "down_events": 0, "good": 0,
            "scrap": 0, "total": 0, "availability": None, "performance": None, "performance_flag": False,
            "quality": None, "oee": None, "mtbf_s": None, "mttr_s": None, "first_pass_yield": None,
            "otd": None, "orders_due": 0, "orders_on_time": 0, "plan_quantity": 0, "output_vs_plan": None}
    return base | values


EMPTY = record()
STOPPED = record(unknown_s=0, planned_stop_s=3600)  # a whole period of planned stops
IDLE = record(unknown_s=0, planned_s=3600, idle_s=3600, availability=0.0)  # planned, but it never ran


def contexts(k: dict[str, Any]) -> dict[str, dict[str, Any]]:
    from bot.kpi.reconciliation import LineReconciliation, Row
    from bot.kpi.settings import KpiSettings

    rows = (Row("M1", "WO1", 900, 1000, (3,)),)
    view = ShiftView(LINE, SLOT, NOW, k, [k], [])
    return {
        "kpi/summary.txt.j2": {"scope": LINE, "today": k, "yesterday": k, "target": {"oee": 0.85}, "chart": "queued",
                               "chart_days": 14, "shift": SLOT, "shift_link": "http://x/h5/kpi/shift"},
        "kpi/shift_card.json.j2": {"scope": LINE, "slot": SLOT, "k": k, "target": {"oee": 0.85}, "url": "http://x/"},
        "kpi/daily.md.j2": {"day": date(2026, 1, 4), "k": k, "lines": [k], "names": {}, "target": {"oee": 0.85}},
        "kpi/breach.txt.j2": {"target": NS(kpi="oee", value=0.85), "scope": LINE, "value": 0.1, "k": k, "slot": SLOT},
        "kpi/shift_page.html.j2": {"v": view, "target": {"oee": 0.85}, "user": NS(name="王五", wecom_userid="boss")},
        "kpi/reconciliation_card.json.j2": {"line": LineReconciliation(1, "L1", "一号线", SLOT, rows, rows),
                                            "slot": SLOT, "shown": rows, "hidden": (), "config": KpiSettings(),
                                            "url": "http://x/"},
        "kpi/no_data.txt.j2": {"scope": LINE},
        "kpi/no_scope.txt.j2": {"admin_contact": "王工"},
        "kpi/unknown_scope.txt.j2": {"wanted": "L9", "lines": [LINE]},
        "kpi/not_yours.txt.j2": {"scope": LINE, "own": Scope("line", "L2", "L2"), "admin_contact": "王工"},
    }


class NS:
    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


def kpi_templates() -> list[str]:
    folder = CONTENT_DIR / "templates" / "kpi"
    return sorted(f"kpi/{p.name}" for p in folder.glob("*.j2") if p.name != "macros.j2")


@pytest.fixture(scope="module")
def templates() -> Templates:
    return Templates(ZoneInfo("Asia/Shanghai"))


def strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


def visible(text: str) -> str:
    """What a person reads: tags, styles and JSON punctuation aside (a card's strings one per line)."""
    if text.startswith("{"):
        return "\n".join(strings(json.loads(text)))
    text = re.sub(r"<style>.*?</style>", " ", text, flags=re.S)
    text = re.sub(r"(?m)^\s*- ", "", text)  # a markdown list item
    return re.sub(r"<[^>]+>", " ", text)


@pytest.mark.parametrize("name", kpi_templates())
@pytest.mark.parametrize("k", [EMPTY, STOPPED, IDLE], ids=["no-signal", "planned-stops", "idle"])
def test_missing_figures_are_said_in_words(templates: Templates, name: str, k: dict[str, Any]) -> None:
    context = contexts(k)
    assert name in context, f"{name}: add a sample context here"
    text = visible(templates.render(name, now=NOW, **context[name]))
    assert "—" not in text and not DASHES.search(text), text
    assert "None" not in text and "nan" not in text
    assert not re.search(r"无数据\S*\s*\d+\s*分（未计入", text), text


@pytest.mark.parametrize("name", ["kpi/summary.txt.j2", "kpi/daily.md.j2", "kpi/shift_card.json.j2",
                                  "kpi/shift_page.html.j2"])
def test_time_without_signal_is_explained(templates: Templates, name: str) -> None:
    text = visible(templates.render(name, now=NOW, **contexts(EMPTY)[name]))
    assert "设备无信号 4分" in text
    assert "暂无数据：这段时间没有设备状态" in text  # availability of a period without any state


def test_reasons_follow_the_data(templates: Templates) -> None:
    def summary(k: dict[str, Any]) -> str:
        return templates.render("kpi/summary.txt.j2", now=NOW, **contexts(k)["kpi/summary.txt.j2"])

    assert "可用率 没有计划生产时间：这段时间都是计划停机" in summary(STOPPED)
    assert "可用率 0.0%" in summary(IDLE) and "停机 无" in summary(IDLE)
    assert "准时交付 没有到期工单" in summary(EMPTY)
    ran = record(unknown_s=0, planned_s=3600, run_s=3000, down_s=600, down_events=2, mttr_s=300, good=90, scrap=10,
                 total=100, availability=0.83, performance=0.5, quality=0.9, oee=0.37, first_pass_yield=0.9,
                 orders_due=2, orders_on_time=1, otd=0.5)
    text = summary(ran)
    assert "停机 10分（2次） · 平均修复 5分" in text and "准时交付 50.0%（1/2单按时）" in text
    assert "未计入" not in text
