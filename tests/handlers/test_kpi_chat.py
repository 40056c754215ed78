"""`指标` / `KPI` in chat: the user's scope in text at once, then the chart as an uploaded image."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.models.kpi import KpiChartRequest
from jobs import kpi_charts
from tests.conftest import Stack
from tests.handlers.kpi_support import NOW, seed_plant

pytestmark = pytest.mark.db


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return lambda: NOW


async def test_team_lead_gets_line_figures_then_chart(stack: Stack, tmp_path: Path) -> None:
    await seed_plant(stack, tmp_path)
    result = await stack.sandbox.send_text("lead1", "指标")
    text = result.reply["Content"]
    # L1 today 00:00-14:00: M1 run 4 h, down 2 h, 8 h unknown; M2 14 h unknown.
    # A = 4/6; P = 7200 s ideal / 14400 s run; Q = 7000/7200; OEE = A x P x Q
    assert "产线 L1" in text
    assert "OEE 32.4%" in text and "可用率 66.7%" in text and "性能 50.0%" in text and "质量 97.2%" in text
    assert "停机 2小时0分（1次）" in text and "无数据 22小时0分" in text
    assert "昨日：OEE" in text and "准时交付 100.0%（1/1）" not in text  # WO1 is due today
    await kpi_charts.run(stack.services, NOW)
    image = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "image" and m.touser == ["lead1"])
    media = stack.sandbox.state.media[image.payload["media_id"]]
    assert media.data.startswith(b"\x89PNG") and media.content_type == "image/png" and len(media.data) > 10_000
    async with stack.services.sessions() as session:
        request = await session.scalar(select(KpiChartRequest))
    assert request.status == "sent" and request.scope == "line" and request.code == "L1"
    await kpi_charts.run(stack.services, NOW)  # nothing left to do: not sent twice
    assert len([m for m in stack.sandbox.messages if m.msgtype == "image"]) == 1


async def test_manager_gets_plant_and_operator_is_refused(stack: Stack, tmp_path: Path) -> None:
    await seed_plant(stack, tmp_path)
    text = (await stack.sandbox.send_text("boss", "KPI")).reply["Content"]
    # plant: L1 + L2 (M3 ran 6 h, 5000 parts at 4 s); OTD: WO1 due today at 12:00, done at 11:00
    assert "全厂" in text and "可用率 83.3%" in text
    refused = (await stack.sandbox.send_text("op1", "指标")).reply["Content"]
    assert "指标" not in refused or "OEE" not in refused
    async with stack.services.sessions() as session:
        requests = (await session.scalars(select(KpiChartRequest))).all()
    assert [(r.wecom_userid, r.scope) for r in requests] == [("boss", "plant")]


async def test_failed_upload_is_retried(stack: Stack, tmp_path: Path) -> None:
    await seed_plant(stack, tmp_path)
    await stack.sandbox.send_text("lead2", "指标")
    stack.sandbox.inject_fault("media/upload", errcode=40004, times=1)
    await kpi_charts.run(stack.services, NOW)
    async with stack.services.sessions() as session:
        request = await session.scalar(select(KpiChartRequest))
    assert request.status == "pending" and request.attempts == 1 and request.error
    await kpi_charts.run(stack.services, NOW)
    image = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "image")
    assert image.touser == ["lead2"]


async def test_scheduled_job_delivers_the_chart(stack: Stack, tmp_path: Path) -> None:
    """No manual run: the app's scheduler runs kpi_charts (every 3 s) and the image arrives by itself."""
    await seed_plant(stack, tmp_path)
    await stack.sandbox.send_text("boss", "OEE")
    image = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "image", timeout=15)
    assert image.touser == ["boss"]
