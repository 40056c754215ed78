"""The plant may refuse over-reports outright: no card to anyone, nothing stored."""
from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Stack

from .reports_support import op_url, report_count, seed_stack

pytestmark = pytest.mark.db


@pytest.fixture
def stack_overrides() -> dict[str, dict[str, Any]]:
    return {"reports": {"over_report": "refuse", "tolerance_quantity": 3}}


async def test_over_report_refused_by_config(stack: Stack) -> None:
    await seed_stack(stack)
    await stack.sandbox.scan("op1", op_url(stack))
    ok = await stack.sandbox.send_text("op1", "103")
    assert "报工成功" in ok.reply["Content"]
    await stack.sandbox.scan("op1", op_url(stack), key="scan_again")
    refused = await stack.sandbox.send_text("op1", "1")
    assert "超出可报数量" in refused.reply["Content"] and "允许超报 3" in refused.reply["Content"]
    assert await report_count(stack) == 1
    assert not [m for m in stack.sandbox.messages_for("lead1") if m.msgtype == "template_card"]


async def test_non_numbers_are_refused_clearly(stack: Stack) -> None:
    await seed_stack(stack)
    await stack.sandbox.scan("op1", op_url(stack))
    for text in ("-3", "4.5"):
        answer = await stack.sandbox.send_text("op1", text)
        assert "不小于 0 的整数" in answer.reply["Content"]
    assert await report_count(stack) == 0
