"""扫码报工 in chat, end to end: the sandbox sends real encrypted callbacks, the bot answers and sends cards;
after each approval, correction or undo every card of the report (as each recipient's phone shows it) follows."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.qr import QrPayload
from tests.clock import MovingClock
from tests.conftest import Stack
from tests.handlers.cards_support import buttons, delivered, raw_tap, rows, shown

from .reports_support import op_url, report_count, reports, seed_stack

pytestmark = pytest.mark.db


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return MovingClock()


def card_for(stack: Stack, userid: str, title: str) -> dict:
    cards = [m.payload for m in stack.sandbox.messages_for(userid)
             if m.msgtype == "template_card" and m.api == "message/send" and m.payload["main_title"]["title"] == title]
    assert cards, f"no {title} card for {userid}"
    return cards[-1]


async def wait_card(stack: Stack, userid: str, title: str) -> dict:
    message = await stack.sandbox.wait_for_message(
        lambda m: userid in m.touser and m.msgtype == "template_card"
        and m.payload["main_title"]["title"] == title, timeout=5)
    return message.payload


async def tap_later(stack: Stack, userid: str, card: dict, key: str) -> object:
    """A second tap on the same button; a later CreateTime, since one in the same second is a WeCom retry."""
    from integrations.wecom import messages

    config = stack.sandbox.config
    xml = messages.inbound_template_card_event_xml(
        config.corp_id, userid, config.agent_id, int(datetime.now(UTC).timestamp()) + 2, event_key=key,
        task_id=card["task_id"], card_type=card["card_type"],
        response_code=stack.sandbox.state.code_for_tap(card["task_id"], userid))
    return await stack.sandbox.post_raw(xml)


async def test_scan_report_with_scrap_reason_then_confirmation_card_and_my_reports(stack: Stack) -> None:
    await seed_stack(stack)
    scanned = await stack.sandbox.scan("op1", op_url(stack))
    text = scanned.reply["Content"]
    assert "WO-001" in text and "冲压" in text and "L1-M1" in text and "剩余 100" in text and "48 2" in text
    asked = await stack.sandbox.send_text("op1", "48 2")
    assert "1. 尺寸超差" in asked.reply["Content"] and await report_count(stack) == 0
    done = await stack.sandbox.send_text("op1", "2")
    assert "报工成功" in done.reply["Content"] and "外观不良" in done.reply["Content"]
    [report] = await reports(stack)
    assert (report.good, report.scrap, report.reason_code, report.source) == (48, 2, "LOOK", "chat")
    card = await wait_card(stack, "op1", "报工已记录")
    assert card["button_list"][0] == {"text": "撤销", "style": 2, "key": f"rep:undo:{report.id}"}
    mine = await stack.sandbox.send_text("op1", "我的报工")
    assert f"#{report.id}" in mine.reply["Content"] and "良品 48" in mine.reply["Content"]
    after = await stack.sandbox.send_text("op1", "5")  # the conversation is over: a number is not a report
    assert await report_count(stack) == 1 and "报工成功" not in (after.reply or {}).get("Content", "")


async def test_machine_qr_and_good_only_reply(stack: Stack) -> None:
    await seed_stack(stack)
    url = stack.services.qr.url(QrPayload("machine", ("L1-M2",)))  # type: ignore[union-attr]
    scanned = await stack.sandbox.scan("op2", url)
    assert "WO-001" in scanned.reply["Content"] and "折弯" in scanned.reply["Content"]
    done = await stack.sandbox.send_text("op2", "30")
    assert "报工成功" in done.reply["Content"]
    assert [(r.good, r.scrap) for r in await reports(stack)] == [(30, 0)]


@pytest.mark.parametrize("how", ["tampered", "expired", "unknown_order", "other_line", "closed"])
async def test_bad_scans_store_nothing(stack: Stack, how: str) -> None:
    await seed_stack(stack)
    user, url = "op1", op_url(stack)
    if how == "tampered":
        token = url.rsplit("/", 1)[1]
        url = url[: -len(token)] + token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    elif how == "expired":
        url = op_url(stack, expires_at=datetime.now(UTC) - timedelta(minutes=1))
    elif how == "unknown_order":
        url = op_url(stack, "WO-404")
    elif how == "other_line":
        user = "op_l2"
    elif how == "closed":
        url = op_url(stack, "WO-003")
    scanned = await stack.sandbox.scan(user, url)
    expected = {"tampered": "篡改", "expired": "过期", "unknown_order": "未找到工单 WO-404",
                "other_line": "其他产线", "closed": "已关闭"}[how]
    assert expected in scanned.reply["Content"]
    follow = await stack.sandbox.send_text(user, "10")
    assert "报工成功" not in (follow.reply or {}).get("Content", "")
    assert await report_count(stack) == 0


async def test_replayed_callback_stores_one_report(stack: Stack) -> None:
    from integrations.wecom import messages

    await seed_stack(stack)
    await stack.sandbox.scan("op1", op_url(stack))
    xml = messages.inbound_text_xml(stack.sandbox.config.corp_id, "op1", stack.sandbox.config.agent_id, "12",
                                    "99887766554433", int(datetime.now(UTC).timestamp()))
    first = await stack.sandbox.post_raw(xml)
    second = await stack.sandbox.post_raw(xml)
    assert "报工成功" in first.reply["Content"] and first.reply["Content"] == second.reply["Content"]
    assert await report_count(stack) == 1


async def test_undo_inside_the_window_then_not_after(stack: Stack, clock: MovingClock) -> None:
    await seed_stack(stack)
    await stack.sandbox.scan("op1", op_url(stack))
    await stack.sandbox.send_text("op1", "10")
    card = await wait_card(stack, "op1", "报工已记录")
    await delivered(stack)
    tapped = await stack.sandbox.tap_card_button("op1", card["task_id"], card["button_list"][0]["key"])
    assert tapped.reply is None  # the card is replaced as a whole instead of a greyed button
    answer = await stack.sandbox.wait_for_message(lambda m: "op1" in m.touser and "已撤销报工" in
                                                  str(m.payload.get("content", "")))
    assert "现在剩余 100件" in answer.payload["content"]  # undo answers with the new remaining
    await delivered(stack)
    undone = shown(stack, "op1", card["task_id"])
    assert undone["main_title"]["title"] == "报工已撤销" and "张三" in rows(undone)["更新"]
    assert buttons(undone) == [("刷新", "rep:view:1")]
    assert [r.status for r in await reports(stack)] == ["undone"]

    # a second scan within the same second would be a WeCom retry (same user, CreateTime, event key)
    await stack.sandbox.scan("op1", op_url(stack), key="scan_again")
    await stack.sandbox.send_text("op1", "20")
    second = await stack.sandbox.wait_for_message(
        lambda m: "op1" in m.touser and m.msgtype == "template_card" and m.payload["task_id"] != card["task_id"])
    await delivered(stack)
    clock.offset = timedelta(minutes=11)
    late = await stack.sandbox.tap_card_button("op1", second.payload["task_id"], "rep:undo:2")
    assert late.reply is None
    hint = await stack.sandbox.wait_for_message(lambda m: "op1" in m.touser and "更正 2" in
                                                str(m.payload.get("content", "")))
    assert "班组长" in hint.payload["content"]
    await delivered(stack)
    assert [m for m in stack.sandbox.messages if m.api == "update_template_card"
            and m.request["template_card"]["task_id"] == second.payload["task_id"]] == []  # nothing changed
    assert [r.status for r in await reports(stack)] == ["undone", "confirmed"]


async def test_over_report_goes_to_the_team_lead_card_and_every_card_follows_the_decision(stack: Stack) -> None:
    await seed_stack(stack)
    await stack.add_user("lead3", "周班长", ["team_lead"], line_id=(await reports_line(stack)))
    await stack.sandbox.scan("op1", op_url(stack))
    await stack.sandbox.send_text("op1", "48")
    await stack.sandbox.scan("op1", op_url(stack), key="scan_again")
    asked = await stack.sandbox.send_text("op1", "60")
    assert "审批" in asked.reply["Content"] and "剩余 52件，另有 60件 待审批" in asked.reply["Content"]
    scanned = await stack.sandbox.scan("op2", op_url(stack))
    assert "剩余 52件，另有 60件 待审批" in scanned.reply["Content"]  # the scan names the same numbers
    card = await wait_card(stack, "lead1", "超量报工待审批")
    assert {b["text"] for b in card["button_list"]} == {"同意", "驳回"}
    assert not [m for m in stack.sandbox.messages_for("lead2") if m.msgtype == "template_card"]
    confirm = await wait_card(stack, "op1", "报工待审批")
    await delivered(stack)
    approve = next(b["key"] for b in card["button_list"] if b["text"] == "同意")
    tapped = await stack.sandbox.tap_card_button("lead1", card["task_id"], approve)
    assert tapped.reply is None
    told = await stack.sandbox.wait_for_message(lambda m: "op1" in m.touser and "同意" in
                                                str(m.payload.get("content", "")))
    assert "60" in told.payload["content"] and "剩余 0件" in told.payload["content"]
    await delivered(stack)
    for lead in ("lead1", "lead3"):  # both team leads' cards: decided, by whom and when
        decided = shown(stack, lead, card["task_id"])
        assert decided["main_title"]["title"] == "超量报工已同意" and "赵班长" in rows(decided)["处理"]
        assert buttons(decided) == [("刷新", "rep:apview:1")]
    mine = shown(stack, "op1", confirm["task_id"])  # the reporter's card: no longer 待审批
    assert mine["main_title"]["title"] == "报工已记录" and "赵班长" in rows(mine)["更新"]
    again = await raw_tap(stack, "lead3", card["task_id"], approve)  # tapped before the card was replaced
    assert again.reply is None
    await stack.sandbox.wait_for_message(lambda m: "lead3" in m.touser and "已处理" in
                                         str(m.payload.get("content", "")))
    assert [(r.good, r.status) for r in await reports(stack)] == [(48, "confirmed"), (60, "confirmed")]
    listed = (await stack.sandbox.send_text("op1", "我的报工")).reply["Content"]
    assert "已更正" not in listed  # approved, not corrected


async def test_undo_of_an_approved_report_asks_the_team_lead_again(stack: Stack) -> None:
    await seed_stack(stack)
    await stack.sandbox.scan("op1", op_url(stack))
    await stack.sandbox.send_text("op1", "130")
    card = await wait_card(stack, "lead1", "超量报工待审批")
    confirm = await wait_card(stack, "op1", "报工待审批")
    await delivered(stack)
    await stack.sandbox.tap_card_button("lead1", card["task_id"], "rep:approve:1")
    await delivered(stack)  # the reporter's card took the approval on the send's code
    assert buttons(shown(stack, "op1", confirm["task_id"])) == [("撤销", "rep:undo:1")]
    await stack.sandbox.tap_card_button("op1", confirm["task_id"], "rep:undo:1")
    undo = await stack.sandbox.wait_for_message(lambda m: "op1" in m.touser and "再次同意" in
                                                str(m.payload.get("content", "")))
    assert "现在剩余 0件" in undo.payload["content"]
    assert [r.status for r in await reports(stack)] == ["confirmed"]  # not yet
    again = await wait_card(stack, "lead1", "撤销已审批报工待审批")
    await delivered(stack)
    assert shown(stack, "op1", confirm["task_id"])["main_title"]["title"] == "撤销待审批"  # on the tap's code
    await stack.sandbox.tap_card_button("lead1", again["task_id"], "rep:approve:2")
    told = await stack.sandbox.wait_for_message(lambda m: "op1" in m.touser and "撤销申请" in
                                                str(m.payload.get("content", "")))
    assert "报工已撤销" in told.payload["content"] and "剩余 100件" in told.payload["content"]
    await delivered(stack)
    assert [r.status for r in await reports(stack)] == ["undone"]
    assert shown(stack, "lead1", again["task_id"])["main_title"]["title"] == "撤销已审批报工已同意"
    # The reporter's card spent both its codes (the send's, the undo tap's): it catches up on its 刷新 button
    assert buttons(shown(stack, "op1", confirm["task_id"])) == [("刷新", "rep:view:1")]
    await stack.sandbox.tap_card_button("op1", confirm["task_id"], "rep:view:1")
    await delivered(stack)
    assert shown(stack, "op1", confirm["task_id"])["main_title"]["title"] == "报工已撤销"


async def test_late_correction_is_approved_by_the_team_lead(stack: Stack, clock: MovingClock) -> None:
    clock.start_at_plant_time(time(10, 0))  # "my reports of today" an hour later is still the same day
    await seed_stack(stack)
    await stack.sandbox.scan("op1", op_url(stack))
    await stack.sandbox.send_text("op1", "40")
    confirm = await wait_card(stack, "op1", "报工已记录")
    clock.offset = timedelta(hours=1)
    asked = await stack.sandbox.send_text("op1", "更正 1 38 2 1")
    assert "等待班组长审批" in asked.reply["Content"]
    card = await wait_card(stack, "lead1", "报工更正待审批")
    await delivered(stack)
    approve = next(b["key"] for b in card["button_list"] if b["text"] == "同意")
    tapped = await stack.sandbox.tap_card_button("lead1", card["task_id"], approve)
    assert tapped.reply is None
    await delivered(stack)
    assert [(r.good, r.scrap) for r in await reports(stack)] == [(38, 2)]
    corrected = shown(stack, "op1", confirm["task_id"])  # the old quantity is gone from the reporter's card
    assert rows(corrected)["良品"] == "38件" and "同意更正" in rows(corrected)["更新"]
    listed = (await stack.sandbox.send_text("op1", "我的报工")).reply["Content"]
    assert "(已更正)" in listed


async def reports_line(stack: Stack) -> int:
    from sqlalchemy import select

    from bot.models import Line

    async with stack.services.sessions() as session:
        line_id = await session.scalar(select(Line.id).where(Line.code == "L1"))
    assert line_id is not None
    return line_id
