"""Issue 10 item 6: numbers out of range or in the wrong script are answered in Chinese, never a crash."""
from __future__ import annotations

import aiohttp
import pytest

from tests.conftest import Stack

from .hostile import assert_answered, crashes, tap_key
from .reports_support import report_count, seed_stack

pytestmark = pytest.mark.db
HUGE = "99999999999999999999"  # past int64: SQLite's OverflowError; past int32: PostgreSQL's


@pytest.fixture
async def seeded(stack: Stack) -> Stack:
    await seed_stack(stack)
    return stack


@pytest.mark.parametrize("text", [f"撤销 {HUGE}", "撤销 2147483648", "撤销 0", f"更正 {HUGE} 1", f"更正 1 {HUGE}",
                                  "更正 ² 1", "撤销 ²", "更正 1 2 3 ²", "更正 1 2 3 999999999999"])
async def test_undo_and_correct_with_hostile_numbers_are_answered_not_crashed(
        seeded: Stack, caplog: pytest.LogCaptureFixture, text: str) -> None:
    result = await seeded.sandbox.send_text("op1", text)
    reply = assert_answered(result.reply, caplog)
    assert any(word in reply for word in ("编号", "用法", "原因", "数量")), reply
    assert await report_count(seeded) == 0


async def test_out_of_range_report_number_names_the_range(seeded: Stack, caplog: pytest.LogCaptureFixture) -> None:
    reply = assert_answered((await seeded.sandbox.send_text("op1", f"撤销 {HUGE}")).reply, caplog)
    assert "2147483647" in reply and "编号" in reply


@pytest.mark.parametrize("key", ["rep:undo:abc", f"rep:undo:{HUGE}", "rep:undo:", "rep:undo:-1",
                                 "rep:approve:abc", f"rep:reject:{HUGE}", "rep:approve:1:2"])
async def test_report_card_keys_that_are_not_ids_are_answered(seeded: Stack, caplog: pytest.LogCaptureFixture,
                                                              key: str) -> None:
    user = "lead1" if ":approve:" in key or ":reject:" in key else "op1"
    reply = await tap_key(seeded, user, key)
    assert not crashes(caplog), crashes(caplog)
    assert reply is not None and reply.get("MsgType") == "update_button", reply


@pytest.mark.parametrize("key", ["eq:ack:abc", f"eq:fix:{HUGE}", "eq:ack:"])
async def test_andon_card_keys_that_are_not_ids_are_answered(stack: Stack, caplog: pytest.LogCaptureFixture,
                                                             key: str) -> None:
    await stack.add_user("wang", "王师傅", ["maintenance"])
    reply = await tap_key(stack, "wang", key)
    assert not crashes(caplog), crashes(caplog)
    assert reply is not None and reply.get("MsgType") == "update_button", reply


@pytest.mark.parametrize("report", [HUGE, "2147483648", "²", "0"])
async def test_h5_undo_with_a_hostile_report_number_is_a_clear_4xx(
        seeded: Stack, caplog: pytest.LogCaptureFixture, report: str) -> None:
    from tests.handlers.test_reports_h5 import open_form

    jar = aiohttp.CookieJar(unsafe=True)
    jar.update_cookies({"sandbox_user": "op1"}, response_url=aiohttp.client.URL(seeded.sandbox.base_url))
    async with aiohttp.ClientSession(cookie_jar=jar, headers={"Origin": seeded.bot_url}) as http:
        await open_form(seeded, http)  # logs in through OAuth
        async with http.post(f"{seeded.bot_url}/h5/report/undo", data={"report": report}) as response:
            status, page = response.status, await response.text()
    assert 400 <= status < 500 and "编号" in page, (status, page[:300])
    assert not crashes(caplog), crashes(caplog)
