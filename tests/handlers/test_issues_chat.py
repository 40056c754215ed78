"""The issue list as a new user tries it, through the sandbox: raise an issue with a photo in chat, the owner's
card, 接受 → 已解决 → 退回 → 已解决 → 确认关闭 with every card following and the history showing each step."""
from __future__ import annotations

from sqlalchemy import select

from bot.models import User
from bot.models.issues import IssueStatus, PhotoStatus
from integrations.wecom import messages
from tests.conftest import Stack
from tests.handlers.cards_support import buttons, delivered
from tests.handlers.issues_support import cards_of, history, is_card_to, issues, photos_settled, png, seed_people


async def test_raise_with_photo_then_accept_resolve_send_back_and_close(stack: Stack) -> None:
    seeded = await seed_people(stack)
    sandbox = stack.sandbox
    asked = await sandbox.send_text("op1", "问题 一号冲床异响，声音很大")
    assert "请回复类别序号" in asked.reply["Content"] and "4. 设备" in asked.reply["Content"]
    created = (await sandbox.send_text("op1", "4")).reply["Content"]
    [issue] = await issues(stack)
    assert issue.number.startswith("Q-") and issue.number.endswith("-0001") and issue.number in created
    assert issue.owner_id == seeded.users["maint1"] and issue.verifier_id == seeded.users["op1"]
    assert "孙师傅" in created and "照片" in created

    photo = png(5000)
    assert "照片已收到" in (await sandbox.send_image("op1", photo, "image/png")).reply["Content"]
    [stored] = await photos_settled(stack)
    assert stored.status == PhotoStatus.STORED and stored.data == photo and stored.content_type == "image/png"
    assert "已登记完毕" in (await sandbox.send_text("op1", "完成")).reply["Content"]

    card = await sandbox.wait_for_message(is_card_to("maint1", issue.number))
    assert [t for t, _ in buttons(card.payload)] == ["接受", "转派", "已解决", "刷新"]
    task = card.payload["task_id"]
    await delivered(stack)
    await sandbox.tap_card_button("maint1", task, f"iss:acc:{issue.id}")
    await delivered(stack)
    shown = sandbox.card_shown("maint1", task)
    assert "处理中" in shown["main_title"]["title"] and "照片" in str(shown["horizontal_content_list"])
    await sandbox.tap_card_button("maint1", task, f"iss:res:{issue.id}")
    verify = await sandbox.wait_for_message(is_card_to("op1", issue.number))
    assert "待验证" in verify.payload["main_title"]["title"]
    assert [t for t, _ in buttons(verify.payload)] == ["确认关闭", "退回", "刷新"]
    await delivered(stack)
    assert "待验证" in sandbox.card_shown("maint1", task)["main_title"]["title"]

    await sandbox.tap_card_button("op1", verify.payload["task_id"], f"iss:ret:{issue.id}")
    await delivered(stack)
    owner_cards = [m for m in sandbox.messages_for("maint1") if is_card_to("maint1", issue.number)(m)]
    assert len(owner_cards) == 2, "退回 tells the owner with a card of their own"
    assert "处理中" in cards_of(stack, "maint1", issue.number)[-1]["main_title"]["title"]
    assert "处理中" in sandbox.card_shown("op1", verify.payload["task_id"])["main_title"]["title"]
    again = owner_cards[-1].payload["task_id"]
    await sandbox.tap_card_button("maint1", again, f"iss:res:{issue.id}")
    await delivered(stack)
    second = [m for m in sandbox.messages_for("op1") if is_card_to("op1", issue.number)(m)][-1]
    await sandbox.tap_card_button("op1", second.payload["task_id"], f"iss:close:{issue.id}")
    await delivered(stack)

    [issue] = await issues(stack)
    assert issue.status == IssueStatus.CLOSED
    for userid in ("maint1", "op1"):  # an older card, out of response codes, catches up on its next tap
        latest = cards_of(stack, userid, issue.number)[-1]
        assert "已关闭" in latest["main_title"]["title"] and buttons(latest) == [("刷新", f"iss:view:{issue.id}")]
    steps = [(kind, old, new) for kind, old, new, _ in await history(stack, issue.id) if kind == "status"]
    assert steps == [("status", "new", "in_progress"), ("status", "in_progress", "to_verify"),
                     ("status", "to_verify", "in_progress"), ("status", "in_progress", "to_verify"),
                     ("status", "to_verify", "closed")]
    text = (await sandbox.send_text("op1", f"问题 {issue.number}")).reply["Content"]
    assert "已关闭" in text and "待验证→处理中" in text and "待验证→已关闭" in text and "孙师傅" in text


async def test_a_replayed_callback_creates_no_second_issue(stack: Stack) -> None:
    await seed_people(stack)
    sandbox = stack.sandbox
    await sandbox.send_text("op1", "问题 扫码后报工页面打不开")
    config = sandbox.config
    xml = messages.inbound_text_xml(config.corp_id, "op1", config.agent_id, "1", "replayed-msg-1", 1_900_000_000)
    first = await sandbox.post_raw(xml)
    replay = await sandbox.post_raw(xml)
    assert first.status == replay.status == 200 and first.body and replay.body
    assert len(await issues(stack)) == 1
    async with stack.services.sessions() as session:
        owner = await session.get(User, (await issues(stack))[0].owner_id)
        assert owner is not None and owner.wecom_userid == "pm1"  # 系统问题 → the PM
    await delivered(stack)
    assert len([m for m in sandbox.messages_for("pm1") if is_card_to("pm1")(m)]) == 1


async def test_machine_issue_skips_the_category_and_reaches_the_lines_maintenance(stack: Stack) -> None:
    seeded = await seed_people(stack)
    reply = (await stack.sandbox.send_text("op1", "问题 设备 l2-m1 注塑机漏油")).reply["Content"]
    [issue] = await issues(stack)
    assert issue.number in reply and issue.category == "设备" and issue.machine_id is not None
    assert issue.owner_id == seeded.users["maint2"], "L2's machine goes to L2's maintenance"
    async with stack.services.sessions() as session:
        assert (await session.scalar(select(User.wecom_userid).where(User.id == issue.verifier_id))) == "op1"
