"""Issue 11 item 7: what people type on a phone works: units and full-width digits in the quantity step, 报工
without a label says how to report, a number outside a conversation says to scan first."""
from __future__ import annotations

import pytest

from tests.conftest import Stack

from .reports_support import op_url, report_count, reports, seed_stack

pytestmark = pytest.mark.db


@pytest.fixture
async def seeded(stack: Stack) -> Stack:
    await seed_stack(stack)
    return stack


async def say(stack: Stack, userid: str, text: str) -> str:
    result = await stack.sandbox.send_text(userid, text)
    assert result.reply is not None
    return str(result.reply["Content"])


@pytest.mark.parametrize("typed", ["48件", "４８", "48 个", "48pcs", "４８件"])
async def test_good_quantity_with_a_unit_or_full_width_digits_is_reported(seeded: Stack, typed: str) -> None:
    await seeded.sandbox.scan("op1", op_url(seeded))
    assert "报工成功" in await say(seeded, "op1", typed)
    assert [(r.good, r.scrap) for r in await reports(seeded)] == [(48, 0)]


@pytest.mark.parametrize("typed", ["48，2", "48件，2件", "４８　２", "48、2"])
async def test_good_and_scrap_typed_either_way_ask_for_the_reason_then_report(seeded: Stack, typed: str) -> None:
    await seeded.sandbox.scan("op1", op_url(seeded))
    assert "1. 尺寸超差" in await say(seeded, "op1", typed)
    assert "报工成功" in await say(seeded, "op1", "２")
    assert [(r.good, r.scrap, r.reason_code) for r in await reports(seeded)] == [(48, 2, "LOOK")]


@pytest.mark.parametrize("typed", ["48件件", "1.5", "٤٨"])
async def test_what_is_still_not_a_quantity_is_refused_with_the_rule(seeded: Stack, typed: str) -> None:
    await seeded.sandbox.scan("op1", op_url(seeded))
    assert "数量必须是" in await say(seeded, "op1", typed)
    assert await report_count(seeded) == 0


async def test_report_word_without_a_label_says_how_to_report(seeded: Stack) -> None:
    text = await say(seeded, "op1", "报工")
    assert "扫码报工" in text and "扫一扫" in text and "报工表单" in text
    assert "不能报工" in await say(seeded, "qc1", "报工")


async def test_a_number_outside_a_conversation_suggests_scanning_first(seeded: Stack) -> None:
    assert "请先点底部菜单「扫码报工」" in await say(seeded, "op1", "48")
    assert await report_count(seeded) == 0
    assert "帮助" in await say(seeded, "qc1", "４８")  # not a reporter: pointed at what they can do
