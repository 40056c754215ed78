"""A PM on the issue card: 转派 picks the new owner from a list on the card, 截止日期 sets the due date with a
tap; the old owner's and the PM's cards follow, the new owner gets one card. Text commands do the same."""
from __future__ import annotations

from datetime import timedelta

from bot.models.issues import IssueStatus
from tests.conftest import Stack
from tests.handlers.cards_support import buttons, delivered
from tests.handlers.issues_support import history, is_card_to, issues, seed_people


async def test_pm_reassigns_from_the_card_and_sets_the_due_date(stack: Stack) -> None:
    seeded = await seed_people(stack)
    sandbox = stack.sandbox
    await sandbox.send_text("pm1", "问题 新员工不会用扫码报工")
    await sandbox.send_text("pm1", "3")  # 培训需求 → the line's team lead? pm1 has no line: the plant's team lead
    [issue] = await issues(stack)
    assert issue.owner_id == seeded.users["lead1"] and issue.verifier_id == seeded.users["pm1"]
    lead_card = await sandbox.wait_for_message(is_card_to("lead1", issue.number))
    await delivered(stack)

    await sandbox.tap_card_button("lead1", lead_card.payload["task_id"], f"iss:fwd:{issue.id}")
    await delivered(stack)
    picker = sandbox.card_shown("lead1", lead_card.payload["task_id"])
    options = {o["text"]: o["id"] for o in picker["button_selection"]["option_list"]}
    assert "赵班长" not in options and "吴质检" in options
    await sandbox.tap_card_button("lead1", lead_card.payload["task_id"], f"iss:fwdto:{issue.id}",
                                  selected={"owner": [options["吴质检"]]})
    qc_card = await sandbox.wait_for_message(is_card_to("qc1", issue.number))
    assert [t for t, _ in buttons(qc_card.payload)] == ["接受", "转派", "已解决", "刷新"]
    await delivered(stack)
    old = sandbox.card_shown("lead1", lead_card.payload["task_id"])
    assert "吴质检" in str(old["horizontal_content_list"]) and buttons(old) == [("刷新", f"iss:view:{issue.id}")]

    text = (await sandbox.send_text("pm1", f"问题 {issue.number} 截止 2天")).reply["Content"]
    assert issue.number in text
    [issue] = await issues(stack)
    today = stack.services.settings.calendar.day_of(stack.services.clock())
    assert issue.due_on == today + timedelta(days=2) and issue.owner_id == seeded.users["qc1"]
    kinds = [k for k, *_ in await history(stack, issue.id)]
    assert kinds == ["created", "owner", "due"]


async def test_pm_due_buttons_and_a_forged_key_is_refused(stack: Stack) -> None:
    await seed_people(stack)
    sandbox = stack.sandbox
    await sandbox.send_text("op1", "问题 系统登录很慢")
    await sandbox.send_text("op1", "1")  # 系统问题 → pm1 owns it, and as PM also sees 截止日期
    [issue] = await issues(stack)
    card = await sandbox.wait_for_message(is_card_to("pm1", issue.number))
    labels = [t for t, _ in buttons(card.payload)]
    assert labels == ["接受", "转派", "已解决", "截止日期", "驳回", "刷新"]
    await delivered(stack)
    await sandbox.tap_card_button("pm1", card.payload["task_id"], f"iss:due:{issue.id}")
    await delivered(stack)
    due = sandbox.card_shown("pm1", card.payload["task_id"])
    assert [t for t, _ in buttons(due)] == ["今天", "明天", "3天", "7天", "取消"]
    await sandbox.tap_card_button("pm1", card.payload["task_id"], f"iss:dueset:{issue.id}:7")
    await delivered(stack)
    [issue] = await issues(stack)
    today = stack.services.settings.calendar.day_of(stack.services.clock())
    assert issue.due_on == today + timedelta(days=7)
    assert "截止日期" in [t for t, _ in buttons(sandbox.card_shown("pm1", card.payload["task_id"]))]

    from tests.handlers.cards_support import raw_tap

    forged = await raw_tap(stack, "pm1", card.payload["task_id"], f"iss:dueset:{issue.id}:99999")
    assert forged.status == 200
    await sandbox.wait_for_message(lambda m: "pm1" in m.touser and "天数" in m.payload.get("content", ""))
    [issue] = await issues(stack)
    assert issue.due_on == today + timedelta(days=7) and issue.status == IssueStatus.NEW


async def test_only_the_owner_accepts_and_bad_input_is_answered(stack: Stack) -> None:
    await seed_people(stack)
    sandbox = stack.sandbox
    await sandbox.send_text("op1", "问题 工装夹具松动")
    assert "没有序号 9" in (await sandbox.send_text("op1", "9")).reply["Content"]
    await sandbox.send_text("op1", "4 高")
    [issue] = await issues(stack)
    assert issue.priority == "high"
    refused = (await sandbox.send_text("op1", f"问题 {issue.number} 接受")).reply["Content"]
    assert "只有负责人" in refused
    assert "看不懂日期" in (await sandbox.send_text("pm1", f"问题 {issue.number} 截止 13-45")).reply["Content"]
    assert "不是问题编号" in (await sandbox.send_text("op1", "问题 Q-99")).reply["Content"]
    assert "没有找到问题" in (await sandbox.send_text("op1", "问题 Q-2026-9999")).reply["Content"]
    mine = (await sandbox.send_text("maint1", "我的问题")).reply["Content"]
    assert issue.number in mine and "我负责的" in mine
