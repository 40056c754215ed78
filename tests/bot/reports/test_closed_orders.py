"""No report on an order that is not released, by any path: chat (sandbox callbacks), the H5 form (WeCom
OAuth session cookie) and `opsbot import reports`. The label was printed while the order was open: closing
the order between the scan and the answer must still refuse."""
from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import WorkOrder
from bot.models.reports import WorkReport
from opsbot.cli import main
from tests.conftest import Stack
from tests.handlers.reports_support import op_url, report_count, seed_stack

from .seed import seed

pytestmark = pytest.mark.db


async def close_order(sessions: async_sessionmaker[AsyncSession], code: str = "WO-001") -> None:
    async with sessions.begin() as session:
        await session.execute(update(WorkOrder).where(WorkOrder.code == code).values(status="closed"))


async def test_chat_refuses_the_quantities_when_the_order_closed_after_the_scan(stack: Stack) -> None:
    await seed_stack(stack)
    scanned = await stack.sandbox.scan("op1", op_url(stack))
    assert "WO-001" in scanned.reply["Content"]
    await close_order(stack.services.sessions)
    answer = await stack.sandbox.send_text("op1", "10")
    assert "工单 WO-001 已关闭" in answer.reply["Content"] and "报工成功" not in answer.reply["Content"]
    assert await report_count(stack) == 0


@pytest.fixture
async def phone(stack: Stack) -> AsyncIterator[aiohttp.ClientSession]:
    """Member op1's browser inside WeCom: the sandbox's OAuth page picks the member from a cookie."""
    await seed_stack(stack)
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar, headers={"Origin": stack.bot_url}) as http:  # as a browser
        jar.update_cookies({"sandbox_user": "op1"}, response_url=aiohttp.client.URL(stack.sandbox.base_url))
        yield http


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name}"
    return match.group(1)


async def test_h5_refuses_a_closed_orders_label_and_a_form_opened_before_it_closed(
        stack: Stack, phone: aiohttp.ClientSession) -> None:
    async with phone.get(op_url(stack, "WO-003")) as response:  # closed from the start
        assert response.status == 404 and "已关闭" in await response.text()
    async with phone.get(op_url(stack)) as response:
        assert response.status == 200
        html = await response.text()
    await close_order(stack.services.sessions)
    form = {"token": hidden(html, "token"), "key": hidden(html, "key"), "good": "10", "scrap": "", "reason": ""}
    async with phone.post(f"{stack.bot_url}/h5/report", data=form) as response:
        page = await response.text()
        assert response.status == 422 and "工单 WO-001 已关闭" in page and "报工成功" not in page
    assert await report_count(stack) == 0


async def test_cli_import_refuses_reports_on_draft_and_closed_orders(
        tmp_path: Path, db_url: str, session_factory: async_sessionmaker[AsyncSession],
        capsys: pytest.CaptureFixture[str]) -> None:
    await seed(session_factory)  # WO-002 is a draft, WO-003 closed (in the app: no completion time)
    config = tmp_path / "opsbot.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    reports = tmp_path / "reports.csv"
    reports.write_text("reported_at,user,work_order,operation,machine,good,scrap\n"
                       "2026-01-05 12:00,op1,WO-001,10,L1-M1,5,0\n"
                       "2026-01-05 12:00,op1,WO-002,10,L1-M1,5,0\n"
                       "2026-01-05 12:00,op1,WO-003,10,L1-M1,5,0\n", encoding="utf-8")
    code = await asyncio.to_thread(main, ["--config", str(config), "import", "reports", str(reports)])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "row 3: work_order: WO-002 is not released (draft)" in out
    assert "row 4: work_order: WO-003 is closed" in out and "(UTF-8): aborted, nothing loaded" in out
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(WorkReport)) == 0
