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


async def test_a_crowd_reporting_on_one_operation_at_once_never_passes_the_tolerance(stack: Stack) -> None:
    """40 operators scan the same label and report at the same instant: the callbacks share group-commit
    batches across lanes, all waiting on one operation's lock. Every answer is a clear yes or no, what was
    confirmed is stored once each, and the total stays within planned + tolerance (100 + 3)."""
    import asyncio

    from .reports_support import reports

    seeded = await seed_stack(stack)
    crowd = [f"c{n:02d}" for n in range(40)]
    for userid in crowd:
        await stack.add_user(userid, f"工{userid}", ["operator"], line_id=seeded.line1)
    await asyncio.gather(*(stack.sandbox.scan(userid, op_url(stack)) for userid in crowd))
    answers = await asyncio.gather(*(stack.sandbox.send_text(userid, "5") for userid in crowd))
    texts = [str((answer.reply or {}).get("Content", "")) for answer in answers]
    for i, userid in enumerate(crowd):  # an answer past WeCom's 5 s reply window comes as a message instead
        if not texts[i]:
            late = await stack.sandbox.wait_for_message(
                lambda m, u=userid: u in m.touser and m.msgtype == "text" and any(
                    word in str(m.payload.get("content", "")) for word in ("报工成功", "超出可报数量")), timeout=30)
            texts[i] = str(late.payload.get("content", ""))
    confirmed = [t for t in texts if "报工成功" in t]
    assert len(confirmed) + sum("超出可报数量" in t for t in texts) == len(crowd), texts
    stored = await reports(stack)
    assert len(stored) == len(confirmed) == len({r.user_id for r in stored})
    assert sum(r.good for r in stored) <= 103 and len(confirmed) == 20  # 20 × 5 = 100 fit; a 21st passes 103
