"""Before the first report or count of the day, the figures that need output say 暂无产量数据, not 0 %."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.kpi.scopes import Scope
from bot.plant_calendar import ShiftSlot
from bot.templates import Templates

NOW = datetime(2026, 1, 5, 1, 30, tzinfo=UTC)


def record(good: int) -> dict[str, Any]:
    """A machine running for an hour; performance is 0 and quality undefined while nothing was counted."""
    total = good
    return {"oee": 0.9 * 0.5 if good else None, "availability": 0.9, "performance": 0.5 if good else 0.0,
            "quality": 1.0 if good else None, "performance_flag": False, "good": good, "scrap": 0, "total": total,
            "first_pass_yield": None, "down_s": 360, "down_events": 1, "mttr_s": 360, "unknown_s": 0,
            "otd": None, "orders_on_time": 0, "orders_due": 0}


@pytest.fixture(scope="module")
def templates() -> Templates:
    return Templates(ZoneInfo("Asia/Shanghai"))


def summary(templates: Templates, today: dict[str, Any]) -> str:
    return templates.render("kpi/summary.txt.j2", scope=Scope("line", "L1", "L1"), today=today,
                            yesterday=record(100), target={"oee": 0.85}, chart=False, now=NOW)


def test_today_before_the_first_count_says_no_output_data(templates: Templates) -> None:
    text = summary(templates, record(0))
    assert "OEE 暂无产量数据（目标 85.0%）" in text and "性能、质量暂无产量数据" in text
    assert "性能 0.0%" not in text and "可用率 90.0%" in text


def test_today_with_output_shows_the_ratios(templates: Templates) -> None:
    text = summary(templates, record(100))
    assert "OEE 45.0%（目标 85.0%）" in text and "性能 50.0%" in text and "暂无产量数据" not in text


def test_shift_card_without_output_says_no_output_data(templates: Templates) -> None:
    slot = ShiftSlot("D", "白班", date(2026, 1, 5), NOW, NOW)
    card = json.loads(templates.render("kpi/shift_card.json.j2", scope=Scope("line", "L1", "L1"), slot=slot,
                                       k=record(0), target={"oee": 0.85}, url="http://x/"))
    values = {item["keyname"]: item["value"] for item in card["horizontal_content_list"]}
    assert card["emphasis_content"]["title"] == "暂无产量数据"
    assert values["性能"] == "暂无产量数据" and values["可用率"] == "90.0%"
