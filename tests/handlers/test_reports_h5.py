"""The H5 report form through the sandbox's WeCom OAuth redirect: pre-filled, idempotent, undoable."""
from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.conftest import Stack, eventually

from .reports_support import op_url, report_count, reports, seed_stack

pytestmark = pytest.mark.db


@pytest.fixture
async def phone(stack: Stack) -> AsyncIterator[aiohttp.ClientSession]:
    """A browser inside WeCom for member op1: the sandbox's OAuth page picks the member from a cookie."""
    await seed_stack(stack)
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar, headers={"Origin": stack.bot_url}) as http:  # as a browser
        jar.update_cookies({"sandbox_user": "op1"}, response_url=aiohttp.client.URL(stack.sandbox.base_url))
        yield http


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name}"
    return match.group(1)


async def open_form(stack: Stack, http: aiohttp.ClientSession, url: str | None = None) -> tuple[int, str]:
    async with http.get(url or op_url(stack)) as response:
        return response.status, await response.text()


async def submit(stack: Stack, http: aiohttp.ClientSession, html: str, **values: str) -> tuple[int, str]:
    form = {"token": hidden(html, "token"), "key": hidden(html, "key"), "good": "", "scrap": "", "reason": ""}
    async with http.post(f"{stack.bot_url}/h5/report", data=form | values) as response:
        return response.status, await response.text()


async def test_form_opens_through_oauth_prefilled_and_submits_once(stack: Stack,
                                                                   phone: aiohttp.ClientSession) -> None:
    status, html = await open_form(stack, phone)
    assert status == 200 and "WO-001" in html and "冲压" in html and "100件" in html
    assert 'name="viewport"' in html and "尺寸超差" in html
    status, done = await submit(stack, phone, html, good="10", scrap="1", reason="DIM")
    assert status == 200 and "报工成功" in done
    status, again = await submit(stack, phone, html, good="10", scrap="1", reason="DIM")
    assert status == 200 and "此表单已提交过" in again
    [report] = await reports(stack)
    assert (report.good, report.scrap, report.reason_code, report.source) == (10, 1, "DIM", "h5")
    card = await stack.sandbox.wait_for_message(lambda m: "op1" in m.touser and m.msgtype == "template_card")
    assert card.payload["button_list"][0]["key"] == f"rep:undo:{report.id}"


async def test_a_double_tap_sent_at_once_is_one_report(stack: Stack, phone: aiohttp.ClientSession) -> None:
    _, html = await open_form(stack, phone)
    answers = await asyncio.gather(*(submit(stack, phone, html, good="7") for _ in range(4)))
    assert all(status == 200 for status, _ in answers)
    assert sum("报工成功" in page for _, page in answers) == 1
    assert await report_count(stack) == 1


async def test_each_rendered_form_is_its_own_report(stack: Stack, phone: aiohttp.ClientSession) -> None:
    for _ in range(2):
        _, html = await open_form(stack, phone)
        await submit(stack, phone, html, good="5")
    assert await report_count(stack) == 2


async def test_refusals_keep_the_form_and_store_nothing(stack: Stack, phone: aiohttp.ClientSession) -> None:
    _, html = await open_form(stack, phone)
    status, page = await submit(stack, phone, html, good="-2")
    assert status == 422 and "不小于 0 的整数" in page and 'id="report-form"' in page
    status, page = await submit(stack, phone, html, good="3", scrap="2")
    assert status == 422 and "请选择报废原因" in page
    token = hidden(html, "token")
    status, page = await submit(stack, phone, html.replace(token, token[:-2] + "xx"), good="3")
    assert status == 400 and "二维码" in page
    assert await report_count(stack) == 0


async def test_tampered_or_unknown_label_opens_no_form(stack: Stack, phone: aiohttp.ClientSession) -> None:
    url = op_url(stack)
    status, page = await open_form(stack, phone, url[:-4] + ("AAAA" if not url.endswith("AAAA") else "BBBB"))
    assert status == 400 and "report-form" not in page
    status, page = await open_form(stack, phone, op_url(stack, "WO-404"))
    assert status == 404 and "WO-404" in page


async def test_undo_from_the_confirmation_page(stack: Stack, phone: aiohttp.ClientSession) -> None:
    _, html = await open_form(stack, phone)
    _, done = await submit(stack, phone, html, good="9")
    report_id = hidden(done, "report")
    async with phone.post(f"{stack.bot_url}/h5/report/undo", data={"report": report_id}) as response:
        assert response.status == 200 and "已撤销报工" in await response.text()
    assert [r.status for r in await reports(stack)] == ["undone"]


async def test_undo_from_the_page_updates_the_confirmation_card_as_in_chat(stack: Stack,
                                                                         phone: aiohttp.ClientSession) -> None:
    """Regression: an undo on the H5 page left the chat card offering 撤销 for a report already undone."""
    _, html = await open_form(stack, phone)
    _, done = await submit(stack, phone, html, good="9")
    card = await stack.sandbox.wait_for_message(lambda m: "op1" in m.touser and m.msgtype == "template_card")
    task_id = card.payload["task_id"]
    async with phone.post(f"{stack.bot_url}/h5/report/undo", data={"report": hidden(done, "report")}) as response:
        assert response.status == 200

    def undone_card() -> bool:
        shown = stack.sandbox.card_shown("op1", task_id)
        keys = [b.get("key", "") for b in shown.get("button_list", [])]
        return not any(key.startswith("rep:undo:") for key in keys) and "撤销" in json.dumps(shown,
                                                                                        ensure_ascii=False)
    await eventually(undone_card)
