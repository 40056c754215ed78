"""The shift card's 查看详情 opens that shift's KPI page (WeCom OAuth), for the people who may see the line."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from bot.models import Machine
from bot.models.equipment import DowntimeReason, MachineState
from jobs import kpi_shift_summary
from tests.conftest import Stack
from tests.handlers.kpi_support import NOW, seed_plant

pytestmark = pytest.mark.db
AFTER_DAY_SHIFT = datetime(2026, 1, 5, 12, 10, tzinfo=UTC)  # 20:10 in Shanghai, the 5th


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return lambda: NOW


@pytest.fixture
async def plant(stack: Stack, tmp_path: Path) -> Stack:
    """The KPI plant, plus a 30-minute jam on M2 this morning with its reason."""
    await seed_plant(stack, tmp_path)
    async with stack.services.sessions.begin() as session:
        session.add(DowntimeReason(code="JAM", name_zh="卡料"))
        m2 = await session.scalar(select(Machine.id).where(Machine.code == "M2"))
        session.add(MachineState(machine_id=m2, state="down", reason_code="JAM", source="import",
                                 start_at=datetime(2026, 1, 6, 1, 0, tzinfo=UTC),
                                 end_at=datetime(2026, 1, 6, 1, 30, tzinfo=UTC)))
    return stack


def browser_as(stack: Stack, userid: str) -> aiohttp.ClientSession:
    """A browser inside WeCom for one member: the sandbox's OAuth page picks the member from a cookie."""
    jar = aiohttp.CookieJar(unsafe=True)
    jar.update_cookies({"sandbox_user": userid}, response_url=aiohttp.client.URL(stack.sandbox.base_url))
    return aiohttp.ClientSession(cookie_jar=jar)


async def open_page(stack: Stack, userid: str, url: str) -> tuple[int, str]:
    async with browser_as(stack, userid) as http, http.get(url) as response:
        return response.status, await response.text()


@pytest.fixture
async def card_url(plant: Stack) -> AsyncIterator[str]:
    await kpi_shift_summary.run(plant.services, AFTER_DAY_SHIFT)
    card = await plant.sandbox.wait_for_message(lambda m: m.msgtype == "template_card")
    yield card.payload["card_action"]["url"]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_the_shift_cards_details_open_that_shifts_page(plant: Stack, card_url: str) -> None:
    assert card_url == f"{plant.bot_url}/h5/kpi/shift?line=L1&day=2026-01-05&shift=D"
    status, html = await open_page(plant, "lead1", card_url)
    assert status == 200 and 'name="viewport"' in html
    page = text_of(html)
    assert "产线 L1 · 01-05 白班" in page and "08:00–20:00" in page and "进行中" not in page
    assert "OEE 69.4%" in page and "目标 85.0%" in page  # 30000 parts at 1 s in 12 h running
    assert "可用率 运行时间占计划生产时间 100.0%" in page and "良品 30000 件" in page and "报废 0 件" in page
    assert "产量 / 计划 没有到期工单，无计划数" in page  # WO1 is due on the 6th
    assert "本班无停机" in page
    assert "设备（2 台）" in page and "冲压机1 M1" in page and "冲压机2 M2" in page
    assert "暂无数据：这段时间没有设备状态" in page  # M2 sent nothing on the 5th
    assert "未计入 设备无信号 12小时0分" in page
    assert "—" not in page and "无数据 " not in page


async def test_a_running_shift_shows_downtime_by_reason(plant: Stack) -> None:
    url = f"{plant.bot_url}/h5/kpi/shift?line=L1&day=2026-01-06&shift=D"
    status, html = await open_page(plant, "boss", url)
    assert status == 200
    page = text_of(html)
    assert "01-06 白班" in page and "进行中，截至 14:00" in page
    # M1 down 11:00-13:00 without a reason, M2 jammed 09:00-09:30
    assert "停机 2小时30分（2次）" in page
    assert re.search(r"停机原因 未填写原因 2小时0分 卡料 30分", page), page
    assert "产量 / 计划 350.0%（良品 7000 / 计划 2000）" in page


@pytest.mark.parametrize(("userid", "status", "words"), [
    ("lead2", 403, "您只能查看自己产线的班次指标"),  # a team lead of another line
    ("op1", 403, "您的角色不能使用此页面"),  # an operator
])
async def test_only_people_who_may_see_the_line_open_it(plant: Stack, card_url: str, userid: str, status: int,
                                                        words: str) -> None:
    got, html = await open_page(plant, userid, card_url)
    assert got == status and words in html and "OEE" not in html


@pytest.mark.parametrize(("query", "status"), [
    ("line=L1&day=2026-13-01&shift=D", 400), ("line=L1&day=2026-01-05&shift=X", 400), ("line=L1", 400),
    ("line=L9&day=2026-01-05&shift=D", 404), ("line=M1&day=2026-01-05&shift=D", 404),
    ("line=L1&day=2026-01-07&shift=D", 404),  # not started yet
])
async def test_a_bad_link_gets_a_page_that_says_so(plant: Stack, query: str, status: int) -> None:
    got, html = await open_page(plant, "boss", f"{plant.bot_url}/h5/kpi/shift?{query}")
    assert got == status and "无法查看班次指标" in html
