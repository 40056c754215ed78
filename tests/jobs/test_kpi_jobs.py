"""KPI pushes through the real outbox and sandbox: shift cards, the daily summary, one alert per breach."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.kpi.service import kpi_settings
from bot.models import OutboxMessage
from bot.models.kpi import KpiBreach
from jobs import kpi_daily, kpi_shift_summary, kpi_thresholds
from tests.conftest import Stack
from tests.handlers.kpi_support import NOW, seed_plant

pytestmark = pytest.mark.db
AFTER_DAY_SHIFT = datetime(2026, 1, 5, 12, 10, tzinfo=UTC)  # 20:10 in Shanghai, the 5th


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return lambda: NOW


def sent(stack: Stack, msgtype: str) -> list:
    return [m for m in stack.sandbox.messages if m.msgtype == msgtype]


async def test_shift_card_once_per_line_and_shift(stack: Stack, tmp_path: Path) -> None:
    await seed_plant(stack, tmp_path)
    await kpi_shift_summary.run(stack.services, datetime(2026, 1, 5, 12, 2, tzinfo=UTC))  # inside the delay
    await kpi_shift_summary.run(stack.services, AFTER_DAY_SHIFT)
    card = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "template_card")
    assert card.touser == ["lead1"]
    body = card.payload
    assert body["main_title"]["title"] == "产线 L1 01-05 白班"
    assert body["emphasis_content"]["title"] == "69.4%"  # 30000 parts at 1 s in 12 h running
    values = {item["keyname"]: item["value"] for item in body["horizontal_content_list"]}
    assert values["可用率"] == "100.0%" and values["良品/报废"] == "30000 / 0"
    await kpi_shift_summary.run(stack.services, AFTER_DAY_SHIFT)  # the next tick: nothing new
    await kpi_shift_summary.run(stack.services, NOW)
    assert len(sent(stack, "template_card")) == 1  # L2 had no data; the night shift neither
    assert json.dumps(body, ensure_ascii=False).count("L2") == 0


async def test_daily_summary_to_managers_once(stack: Stack, tmp_path: Path) -> None:
    await seed_plant(stack, tmp_path)
    await kpi_daily.run(stack.services, NOW)
    await kpi_daily.run(stack.services, NOW)
    message = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "markdown")
    assert message.touser == ["boss"]
    content = message.payload["content"]
    assert "01-05 全厂日报" in content and "69.4%" in content and "良品 30000" in content
    assert "未计入：设备无信号" in content  # M2 and M3 reported nothing on the 5th
    async with stack.services.sessions() as session:
        queued = (await session.scalars(select(OutboxMessage).where(OutboxMessage.msgtype == "markdown"))).all()
    assert len(queued) == 1 and queued[0].idempotency_key == "kpi-daily:2026-01-05"


async def test_threshold_alert_once_per_breach(stack: Stack, tmp_path: Path) -> None:
    await seed_plant(stack, tmp_path)
    await kpi_thresholds.run(stack.services, NOW)
    to_lead = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "text" and m.touser == ["lead1"])
    to_boss = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "text" and m.touser == ["boss"])
    assert "产线 L1" in to_lead.payload["content"] and "OEE 32.4%（目标 85.0%）" in to_lead.payload["content"]
    assert "全厂" in to_boss.payload["content"]
    for _ in range(3):  # later runs of the job, still below target: no repeats
        await kpi_thresholds.run(stack.services, NOW)
    async with stack.services.sessions() as session:
        breaches = (await session.scalars(select(KpiBreach).order_by(KpiBreach.id))).all()
    assert [(b.scope, b.code, b.closed_at) for b in breaches] == [("plant", "", None), ("line", "L1", None)]
    line_target = next(t for t in kpi_settings(stack.services.settings).targets if t.scope == "line")
    line_target.value = 0.30  # L1 at 32.4% now meets it: the breach closes
    await kpi_thresholds.run(stack.services, NOW)
    line_target.value = 0.85  # and falls below again: a new breach, a new alert
    # at the job's next run (600 s on): within a resend's window WeCom's duplicate check drops the same text
    stack.sandbox.advance_clock(600)
    await kpi_thresholds.run(stack.services, NOW)
    async with stack.services.sessions() as session:
        line_breaches = (await session.scalars(select(KpiBreach).where(KpiBreach.scope == "line")
                                                .order_by(KpiBreach.id))).all()
    assert [b.closed_at is None for b in line_breaches] == [False, True]
    await stack.sandbox.wait_for_message(
        lambda m: m.msgtype == "text" and m.touser == ["lead1"] and m.id != to_lead.id)
    assert len([m for m in sent(stack, "text") if m.touser == ["lead1"]]) == 2
    assert len([m for m in sent(stack, "text") if m.touser == ["boss"]]) == 1
