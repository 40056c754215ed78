"""A round walked in chat as a new team lead would: the card arrives at the slot, three checkpoints are scanned
and answered on their cards, an NG with a photo opens an issue owned by maintenance, the round shows complete."""
from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from bot.models.issues import Issue, IssuePhoto
from bot.models.patrols import PatrolAnswer, PatrolPhoto, PatrolVisit
from tests.conftest import Stack, eventually

from .patrols_support import JPEG, Clock, card_with, dispatch, label, overrides, round_of, seed, tap

pytestmark = pytest.mark.db


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def stack_overrides() -> dict[str, dict[str, Any]]:
    return overrides()


async def test_a_round_walked_in_chat_with_an_ng_photo_opens_an_issue(stack: Stack, clock: Clock) -> None:
    users = await seed(stack)
    await dispatch(stack)
    row = await round_of(stack)
    card = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "template_card" and m.touser == ["lead1"])
    assert card.payload["task_id"] == f"pat-r{row.id}"
    assert "机加线 5S 巡检" in card.payload["main_title"]["title"]
    assert card.payload["card_action"]["url"].endswith(f"/h5/patrols/round/{row.id}")
    started = await tap(stack, "lead1", f"pat-r{row.id}", f"pat:start:{row.id}")
    assert "1. 物料区" in started and "3. 成品区" in started

    first = await stack.sandbox.scan("lead1", label(stack, "5S-L1:A"))
    assert "物料定置摆放" in first.reply["Content"]
    task_a = f"pat-c{row.id}-A"
    await tap(stack, "lead1", task_a, f"pat:ok:{row.id}:A:tidy")
    clock.advance(1)
    done_a = await tap(stack, "lead1", task_a, f"pat:ok:{row.id}:A:label")
    assert "物料区 已完成" in done_a

    clock.advance(2)
    await stack.sandbox.scan("lead1", label(stack, "5S-L1:B"))
    task_b = f"pat-c{row.id}-B"
    asked = await tap(stack, "lead1", task_b, f"pat:ng:{row.id}:B:floor")
    assert "需要照片" in asked
    photo = await stack.sandbox.send_image("lead1", JPEG)
    assert "压缩空气压力" in photo.reply["Content"]
    typed = await stack.sandbox.send_text("lead1", "0.62")
    assert "加工区 已完成" in typed.reply["Content"] and "1 项异常" in typed.reply["Content"]

    clock.advance(2)
    await stack.sandbox.scan("lead1", label(stack, "5S-L1:C"))
    task_c = f"pat-c{row.id}-C"
    await tap(stack, "lead1", task_c, f"pat:ch:{row.id}:C:stack:0")
    finished = await tap(stack, "lead1", task_c, f"pat:ok:{row.id}:C:exit")
    assert "本轮巡检已全部完成" in finished

    async with stack.services.sessions() as session:
        answers = list(await session.scalars(select(PatrolAnswer).where(PatrolAnswer.round_id == row.id)))
        visits = list(await session.scalars(select(PatrolVisit).where(PatrolVisit.round_id == row.id)))
        issue = await session.scalar(select(Issue).where(Issue.source == "patrol"))
        stored = await session.scalar(select(PatrolPhoto))
        issue_photo = await session.scalar(select(IssuePhoto.size).where(IssuePhoto.issue_id == issue.id))
    assert (await round_of(stack)).status == "done"
    assert len(answers) == 6 and [a.item for a in answers if a.ng] == ["floor"]
    assert all(v.scanned_at is not None and not v.unscanned for v in visits) and len(visits) == 3
    assert issue is not None and issue.owner_id == users["mt1"].id
    assert issue.source_ref == f"patrol:{row.id}:B:floor" and issue.line_id is not None
    assert stored.data == JPEG and issue_photo == len(JPEG)
    ng = next(a for a in answers if a.ng)
    assert ng.issue_ref == issue.number and ng.photo_id == stored.id
    told = await stack.sandbox.wait_for_message(lambda m: m.touser == ["mt1"])
    assert "地面无油污铁屑" in json.dumps(told.payload, ensure_ascii=False)  # the owner's card from the issue list
    assert f"/h5/patrols/round/{row.id}" in issue.description
    done_card = await card_with(stack, "lead1", f"pat-r{row.id}", [f"pat:view:{row.id}"])
    assert done_card["main_title"]["title"].startswith("巡检已完成")


async def test_refusals_change_nothing(stack: Stack, clock: Clock) -> None:
    """A forged label, a checkpoint of another checklist, a stranger, and answers after the round closed."""
    await seed(stack)
    await dispatch(stack)
    row = await round_of(stack)
    genuine = label(stack, "5S-L1:A")
    forged = genuine[:-4] + ("AAAA" if not genuine.endswith("AAAA") else "BBBB")
    assert "无效或已被篡改" in (await stack.sandbox.scan("lead1", forged)).reply["Content"]
    unknown = await stack.sandbox.scan("lead1", label(stack, "5S-L1:Z"))
    assert "不属于" in unknown.reply["Content"]
    stranger = await stack.sandbox.scan("op1", label(stack, "5S-L1:A"))
    assert "不是派给您" in stranger.reply["Content"]
    await stack.sandbox.scan("lead1", label(stack, "5S-L1:A"))
    await card_with(stack, "lead1", f"pat-c{row.id}-A", [f"pat:ok:{row.id}:A:tidy"])
    clock.advance(5 * 60)  # past the window's end (4 h)
    late = await stack.sandbox.tap_card_button("lead1", f"pat-c{row.id}-A", f"pat:ok:{row.id}:A:tidy")
    assert "已结束" in late.reply["Content"]
    async with stack.services.sessions() as session:
        assert list(await session.scalars(select(PatrolAnswer))) == []

    async def visits() -> list[PatrolVisit]:
        async with stack.services.sessions() as session:
            return list(await session.scalars(select(PatrolVisit)))

    assert [v.checkpoint for v in await eventually(visits)] == ["A"]


async def test_my_rounds_and_the_status_in_chat(stack: Stack, clock: Clock) -> None:
    await seed(stack)
    await dispatch(stack)
    row = await round_of(stack)
    mine = (await stack.sandbox.send_text("lead1", "我的巡检")).reply["Content"]
    assert "机加线 5S 巡检" in mine and f"/h5/patrols/round/{row.id}" in mine
    assert "没有待完成" in (await stack.sandbox.send_text("mgr1", "我的巡检")).reply["Content"]
    status = (await stack.sandbox.send_text("mgr1", "巡检情况 L1")).reply["Content"]
    assert "L1 机加线 巡检情况" in status and "共 4 轮" in status and "5S-L1：0/1 完成" in status
    refused = (await stack.sandbox.send_text("op1", "巡检情况")).reply["Content"]
    assert refused.startswith("抱歉，您的角色不能使用此功能")
