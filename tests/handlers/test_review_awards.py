"""The manager confirms the month's winners on the award cards: stored once, the card replaced with the new state,
the winner announced to every line's group robot once (a second tap changes nothing), 评选 re-sends nothing."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.models import OutboxMessage
from bot.models.review import ReviewAward
from jobs import review_monthly
from tests.bot.review.support import NOW, RELAXED, add_extras, review_overrides, seed_history
from tests.conftest import Stack, eventually
from tests.handlers.cards_support import buttons, delivered, raw_tap, rows

pytestmark = pytest.mark.db


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return lambda: NOW


@pytest.fixture
def stack_overrides(tmp_path: Path) -> dict[str, dict[str, Any]]:
    overrides = review_overrides(tmp_path)
    overrides["review"] |= {"recognition": RELAXED, "robots": [{"line": "L1", "webhook_key": "robot-l1"},
                                                               {"line": "L2", "webhook_key": "robot-l2"}]}
    return overrides


async def all_sent(stack: Stack) -> None:
    """Like cards_support.delivered, with time for the job's XLSX and PDF to be produced first."""
    async def done() -> bool:
        async with stack.services.sessions() as session:
            found = list(await session.scalars(select(OutboxMessage)))
        assert not [(r.idempotency_key, r.last_error) for r in found if r.status == "failed"]
        return all(r.status == "sent" for r in found)
    await eventually(done, timeout=60)


def robot_posts(stack: Stack) -> list[Any]:
    return [m for m in stack.sandbox.state.messages if m.api == "webhook/send"]


async def test_manager_confirms_a_winner_once_and_the_lines_hear_it(stack: Stack, tmp_path: Path) -> None:
    await seed_history(stack.services.sessions, tmp_path)
    users = await add_extras(stack.services.sessions)
    for userid, name in (("op1", "张三"), ("lead1", "李四"), ("boss", "王五")):
        stack.sandbox.add_user(userid, name)
    await review_monthly.run(stack.services, NOW)
    card = await stack.sandbox.wait_for_message(
        lambda m: m.msgtype == "template_card" and "最佳数据录入奖" in m.payload["main_title"]["title"])
    assert card.touser == ["boss"]
    await all_sent(stack)
    async with stack.services.sessions() as session:
        award = await session.scalar(select(ReviewAward).where(ReviewAward.category == "entry"))
    op1, lead1 = users["op1"], users["lead1"]
    assert buttons(card.payload) == [("确认 张三", f"rev:win:{award.id}:{op1}"),
                                     ("确认 李四", f"rev:win:{award.id}:{lead1}"), ("刷新", f"rev:aw:{award.id}")]
    assert rows(card.payload)["1. 张三"].startswith("85.0 分（及时 75% · 准确 100% · 完整 75%")

    task = card.payload["task_id"]
    await stack.sandbox.tap_card_button("boss", task, f"rev:win:{award.id}:{op1}")
    await delivered(stack)
    shown = stack.sandbox.card_shown("boss", task)
    assert "已确认 张三" in shown["main_title"]["title"] and buttons(shown) == [("刷新", f"rev:aw:{award.id}")]
    posts = robot_posts(stack)
    assert sorted(p.request["key"] for p in posts) == ["robot-l1", "robot-l2"]
    assert "最佳数据录入奖" in posts[0].payload["content"] and "**张三**" in posts[0].payload["content"]

    # the same button tapped again (WeCom delivered a tap made before the card changed), and for someone else
    await raw_tap(stack, "boss", task, f"rev:win:{award.id}:{op1}")
    await raw_tap(stack, "boss", task, f"rev:win:{award.id}:{lead1}", seconds_later=3)
    await delivered(stack)
    assert len(robot_posts(stack)) == 2
    async with stack.services.sessions() as session:
        award = await session.get(ReviewAward, award.id)
    assert award.winner_id == op1 and award.confirmed_by == users["boss"]
    assert "已确认 张三" in stack.sandbox.card_shown("boss", task)["main_title"]["title"]

    reply = (await stack.sandbox.send_text("boss", "评选 2026-11")).reply["Content"]
    assert "已经发给您" in reply


async def test_a_key_for_someone_not_offered_is_refused(stack: Stack, tmp_path: Path) -> None:
    await seed_history(stack.services.sessions, tmp_path)
    users = await add_extras(stack.services.sessions)
    stack.sandbox.add_user("boss", "王五")
    assert "候选已发送（3 张卡片）" in (await stack.sandbox.send_text("boss", "评选")).reply["Content"]
    card = await stack.sandbox.wait_for_message(
        lambda m: m.msgtype == "template_card" and "点检之星" in m.payload["main_title"]["title"])
    await delivered(stack)
    async with stack.services.sessions() as session:
        award = await session.scalar(select(ReviewAward).where(ReviewAward.category == "patrol"))
    result = await raw_tap(stack, "boss", card.payload["task_id"], f"rev:win:{award.id}:{users['lead1']}")
    assert result.reply is not None and "未能处理" in str(result.reply)
    result = await raw_tap(stack, "boss", card.payload["task_id"], "rev:win:x:1", seconds_later=3)
    assert "未能处理" in str(result.reply)
    async with stack.services.sessions() as session:
        assert (await session.get(ReviewAward, award.id)).winner_id is None
    assert robot_posts(stack) == []
