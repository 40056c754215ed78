"""`复盘` in chat and the review page: the summary with its link, and nobody sees a scope they may not."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.models import Line, OutboxMessage
from tests.bot.review.support import NOW, review_overrides, seed_history
from tests.conftest import Stack
from tests.handlers.test_kpi_h5 import browser_as, open_page

pytestmark = pytest.mark.db


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return lambda: NOW


@pytest.fixture
def stack_overrides(tmp_path: Path) -> dict[str, dict[str, Any]]:
    return review_overrides(tmp_path)


@pytest.fixture
async def plant(stack: Stack, tmp_path: Path) -> Stack:
    await seed_history(stack.services.sessions, tmp_path)
    for userid, name in (("op1", "张三"), ("lead1", "李四"), ("boss", "王五")):
        stack.sandbox.add_user(userid, name)
    async with stack.services.sessions() as session:
        l2 = await session.scalar(select(Line.id).where(Line.code == "L2"))
    await stack.add_user("lead2", "赵六", ["team_lead"], line_id=l2)
    return stack


async def say(stack: Stack, userid: str, text: str) -> str:
    result = await stack.sandbox.send_text(userid, text)
    assert result.reply is not None
    return str(result.reply["Content"])


async def test_team_lead_gets_last_month_of_own_line_with_link(plant: Stack) -> None:
    text = await say(plant, "lead1", "复盘")
    assert "2026-11 月度复盘" in text and "L1" in text
    assert "OEE：55.6%" in text and "-13.9个百分点 ↓变差" in text and "未达标" in text
    assert "停机第一原因：卡料 90分钟" in text
    assert "新增 3，关闭 1，月末未关闭 3（超期 2）" in text
    assert f"{plant.bot_url}/h5/review/2026-11?line=L1" in text


async def test_manager_gets_the_plant_and_any_line(plant: Stack) -> None:
    text = await say(plant, "boss", "复盘 2026-11")
    assert "全厂 2026-11 月度复盘" in text and "/h5/review/2026-11\n" in text + "\n"
    assert "L2" in await say(plant, "boss", "复盘 L2 2026-11")


async def test_team_lead_cannot_ask_for_another_line_or_the_plant_in_chat(plant: Stack) -> None:
    assert "只能查看自己产线的月度复盘" in await say(plant, "lead1", "复盘 2026-11 L2")
    assert "只能查看自己产线的月度复盘" in await say(plant, "lead1", "复盘 2026-11 全厂")
    assert "还没有开始" in await say(plant, "boss", "复盘 2027-01")


async def test_review_page_refuses_l1_team_lead_for_l2_and_plant(plant: Stack) -> None:
    base = f"{plant.bot_url}/h5/review/2026-11"
    status, html = await open_page(plant, "lead1", f"{base}?line=L1")
    assert status == 200 and "55.6%" in html and 'href="#how-oee"' in html and "卡料" in html
    assert html.count('data-testid="definition-changed"') == 1  # MTTR only, as configured
    assert "口径变更：2026-11-01 起维修计时改从报修开始（涉及上月、基线的比较）" in html
    assert (await open_page(plant, "lead1", f"{base}?line=L2"))[0] == 403
    assert (await open_page(plant, "lead1", base))[0] == 403
    assert (await open_page(plant, "lead2", f"{base}?line=L2"))[0] == 200
    assert (await open_page(plant, "op1", f"{base}?line=L1"))[0] == 403  # operators have no review
    status, html = await open_page(plant, "boss", base)
    assert status == 200 and "全厂" in html and "设备无信号时间" in html
    assert (await open_page(plant, "boss", f"{plant.bot_url}/h5/review/2026-13"))[0] == 400


async def test_month_without_data_says_so_rather_than_zeros(plant: Stack) -> None:
    status, html = await open_page(plant, "boss", f"{plant.bot_url}/h5/review/2026-09")
    assert status == 200 and 'data-testid="no-data"' in html
    assert html.count('"><b>无数据</b></a>') == 11  # every KPI of the month, none shown as 0 %


async def fetch(stack: Stack, userid: str, url: str) -> tuple[int, str, bytes]:
    async with browser_as(stack, userid) as http, http.get(url) as response:
        return response.status, response.content_type, await response.read()


async def test_page_charts_are_images_behind_the_pages_permission(plant: Stack) -> None:
    base = f"{plant.bot_url}/h5/review/2026-11"
    status, html = await open_page(plant, "lead1", f"{base}?line=L1")
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert sources == [f"/h5/review/2026-11/{name}.png?line=L1" for name in ("trend", "downtime", "scrap")]
    for source in sources:
        status, kind, body = await fetch(plant, "lead1", plant.bot_url + source)
        assert (status, kind) == (200, "image/png") and body.startswith(b"\x89PNG")
    assert (await fetch(plant, "lead1", f"{base}/trend.png?line=L2"))[0] == 403
    assert (await fetch(plant, "lead1", f"{base}/downtime.png"))[0] == 403  # the plant's
    assert (await fetch(plant, "op1", f"{base}/trend.png?line=L1"))[0] == 403
    assert (await fetch(plant, "boss", f"{base}/other.png"))[0] == 404
    status, _, body = await fetch(plant, "boss", f"{base}/scrap.png")
    assert status == 200 and body.startswith(b"\x89PNG")


async def test_chat_review_sends_the_xlsx_and_pdf_once_a_day(plant: Stack) -> None:
    assert "Excel 与 PDF 文件随后发送" in await say(plant, "lead1", "复盘 2026-11")
    names = set()
    for suffix in (".xlsx", ".pdf"):
        file = await plant.sandbox.wait_for_message(
            lambda m, s=suffix: m.msgtype == "file" and m.touser == ["lead1"]
            and plant.sandbox.state.media[m.payload["media_id"]].filename.endswith(s), timeout=30)
        names.add(plant.sandbox.state.media[file.payload["media_id"]].filename)
    assert names == {"月度复盘-L1-2026-11.xlsx", "月度复盘-L1-2026-11.pdf"}
    assert "今天已发送过" in await say(plant, "lead1", "复盘")
    async with plant.services.sessions() as session:
        files = await session.scalar(select(func.count()).select_from(OutboxMessage)
                                     .where(OutboxMessage.msgtype == "file"))
    assert files == 2
