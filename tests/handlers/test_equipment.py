"""Andon in chat through the whole stack: the simulator stops a machine, the card reaches maintenance in the
sandbox, 接单 and 已修复 (with a reason, by number or on the card) are recorded, escalation and 设备状态; after each
step every recipient's card (as the sandbox's phones show it) says what happened, who did it and when."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.equipment.cards import Notifier
from bot.models import Line, OutboxMessage
from bot.models.equipment import MachineState
from integrations.opcua.simulator import PlantSimulator
from jobs import andon_escalation
from tests.bot.equipment.support import Driver, FakeClock, alerts, equipment_config, seed_machines
from tests.conftest import Stack, eventually
from tests.handlers.cards_support import buttons, delivered, raw_tap, rows, shown

pytestmark = [pytest.mark.db, pytest.mark.slow]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def stack_overrides(sim: PlantSimulator) -> dict[str, Any]:
    equipment = equipment_config(sim) | {"lines": [{"line": "L1", "webhook_key": "robot-l1"}]}
    return {"equipment": equipment,  # the jobs are driven by hand here, at the fake clock's time
            "jobs": {"equipment_poll": {"enabled": False}, "andon_escalation": {"enabled": False}}}


@pytest.fixture
async def drive(stack: Stack, sim: PlantSimulator, clock: FakeClock) -> AsyncIterator[Driver]:
    lines = await seed_machines(stack.services.sessions)
    await stack.add_user("wang", "王师傅", ["maintenance"], line_id=lines["L1"])
    await stack.add_user("li", "李班长", ["team_lead"], line_id=lines["L1"])
    await stack.add_user("zhao", "赵经理", ["manager"])
    await stack.add_user("op", "操作工小张", ["operator"], line_id=lines["L1"])
    settings = stack.services.settings.feature("equipment")
    driver = await Driver.start(sim, clock, stack.services.sessions, settings,
                                Notifier(stack.services.templates, settings), stack.services.outbox_wakeup)
    yield driver
    await driver.close()


async def all_sent(stack: Stack) -> bool:
    async with stack.services.sessions() as session:
        return all(m.status == "sent" for m in await session.scalars(select(OutboxMessage)))


async def test_down_machine_calls_maintenance_once_who_takes_and_fixes_it(
        stack: Stack, sim: PlantSimulator, drive: Driver, clock: FakeClock) -> None:
    await drive.step()
    await sim.fail("L1-M1", alarm=105)
    await drive.step(0)
    down_at = clock()
    await drive.step(61)
    card = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "template_card")
    assert card.touser == ["wang"] and card.payload["card_type"] == "button_interaction"
    assert "L1-M1 自" in card.payload["main_title"]["desc"] and "分钟" not in card.payload["main_title"]["desc"]
    robot = await stack.sandbox.wait_for_message(lambda m: m.api == "webhook/send")
    assert robot.msgtype == "markdown" and "设备停机" in robot.payload["content"]
    for _ in range(3):
        await drive.step(30)
    await delivered(stack)
    assert sorted(m.api for m in stack.sandbox.messages) == ["message/send", "webhook/send"]  # exactly one card

    [alert] = await alerts(stack.services.sessions)
    task = card.payload["task_id"]
    clock.advance(40)
    result = await stack.sandbox.tap_card_button("wang", task, f"eq:ack:{alert.id}")
    assert result.reply is None  # no passive update_button: it would grey out the new card's 已修复
    await delivered(stack)
    assert buttons(shown(stack, "wang", task)) == [("已修复", f"eq:fix:{alert.id}")]
    assert "您已于" in shown(stack, "wang", task)["main_title"]["desc"]
    [alert] = await alerts(stack.services.sessions)
    assert alert.status == "acknowledged" and alert.acknowledged_at == clock() and alert.down_start == down_at
    assert alert.acknowledged_by is not None

    clock.advance(600)
    fixed = await stack.sandbox.tap_card_button("wang", task, f"eq:fix:{alert.id}")
    assert fixed.reply is None
    ask = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "text" and "停机原因" in m.payload["content"])
    assert "2. 电气故障" in ask.payload["content"]
    await delivered(stack)
    assert shown(stack, "wang", task)["button_selection"]["question_key"] == "reason"
    assert "1 到 6" in (await stack.sandbox.send_text("wang", "9")).reply["Content"]  # type: ignore[index]
    answer = await stack.sandbox.send_text("wang", "3")
    assert answer.reply is not None and "刀具/模具" in answer.reply["Content"]
    await delivered(stack)  # the reason typed in chat reaches the card too (on the send's own code)
    final = shown(stack, "wang", task)
    assert rows(final)["停机原因"] == "刀具/模具" and "王师傅" in final["main_title"]["desc"]
    assert buttons(final) == [("刷新", f"eq:view:{alert.id}")]
    [alert] = await alerts(stack.services.sessions)
    assert alert.status == "fixed" and alert.fixed_at == clock() and alert.reason_code == "TOOL"
    assert alert.acknowledged_at is not None and alert.fixed_at is not None
    assert (alert.acknowledged_at - alert.raised_at).total_seconds() == 40 + 90  # response time
    assert (alert.fixed_at - alert.acknowledged_at).total_seconds() == 600  # repair time
    async with stack.services.sessions() as session:
        down = await session.get(MachineState, alert.state_id)
        assert down is not None and down.reason_code == "TOOL"  # maintenance's reason wins over the PLC's


async def test_untaken_alert_escalates_to_team_lead_then_manager(
        stack: Stack, sim: PlantSimulator, drive: Driver, clock: FakeClock) -> None:
    await sim.fail("L1-M2", alarm=120)
    await drive.step()
    await drive.step(61)
    first = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "template_card" and m.touser == ["wang"])
    clock.advance(10 * 60)
    await andon_escalation.run(stack.services, clock())
    lead = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "template_card" and m.touser == ["li"])
    assert "升级" in lead.payload["main_title"]["title"]
    clock.advance(10 * 60)
    await andon_escalation.run(stack.services, clock())
    boss = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "template_card" and m.touser == ["zhao"])
    [alert] = await alerts(stack.services.sessions)
    assert boss.payload["task_id"] == f"{alert.task_id}-L2" and alert.escalation_level == 2
    await delivered(stack)  # the cards' response_codes are recorded
    result = await stack.sandbox.tap_card_button("zhao", boss.payload["task_id"], f"eq:ack:{alert.id}")
    assert result.reply is None
    await delivered(stack)
    assert buttons(shown(stack, "zhao", boss.payload["task_id"])) == [("已修复", f"eq:fix:{alert.id}")]
    for userid, task in (("wang", first.payload["task_id"]), ("li", lead.payload["task_id"])):
        taken = shown(stack, userid, task)  # the maintenance and team-lead cards say who took it
        assert "已由 赵经理 于" in taken["main_title"]["desc"] and buttons(taken) == [("刷新", f"eq:view:{alert.id}")]
    late = await raw_tap(stack, "li", lead.payload["task_id"], f"eq:ack:{alert.id}")  # tapped before the update
    assert late.reply is None
    told = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "text" and m.touser == ["li"])
    assert "赵经理 已接单" in told.payload["content"]
    await delivered(stack)


async def test_status_command_lists_machines_and_since_when(
        stack: Stack, sim: PlantSimulator, drive: Driver, clock: FakeClock) -> None:
    await drive.step()
    await sim.fail("L2-M1", alarm=105)
    await drive.step(2)
    reply = (await stack.sandbox.send_text("op", "设备状态")).reply
    assert reply is not None
    text = reply["Content"]
    assert "L1-M1 设备L1-M1：运行" in text and "L2-M1 设备L2-M1：停机" in text and "ELEC" in text
    only_l1 = (await stack.sandbox.send_text("op", "设备状态 l1")).reply
    assert only_l1 is not None and "L2-M1" not in only_l1["Content"] and "L1-M2" in only_l1["Content"]


async def test_taking_then_fixing_with_the_reason_on_the_card_updates_every_maintenance_card(
        stack: Stack, sim: PlantSimulator, drive: Driver, clock: FakeClock) -> None:
    async with stack.services.sessions() as session:
        line_id = await session.scalar(select(Line.id).where(Line.code == "L1"))
    await stack.add_user("chen", "陈师傅", ["maintenance"], line_id=line_id)
    await sim.fail("L1-M1", alarm=105)
    await drive.step()
    await drive.step(61)
    card = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "template_card")
    assert sorted(card.touser) == ["chen", "wang"] and card.response_code
    await delivered(stack)
    [alert] = await alerts(stack.services.sessions)
    task = alert.task_id

    clock.advance(30)
    taken = await stack.sandbox.tap_card_button("chen", task, f"eq:ack:{alert.id}")
    assert taken.reply is None
    await delivered(stack)
    assert buttons(shown(stack, "chen", task)) == [("已修复", f"eq:fix:{alert.id}")]  # the taker's card
    other = shown(stack, "wang", task)
    assert "已由 陈师傅 于" in other["main_title"]["desc"] and buttons(other) == [("刷新", f"eq:view:{alert.id}")]
    wang_update = next(m for m in stack.sandbox.messages if m.api == "update_template_card" and m.touser == ["wang"])
    assert wang_update.response_code == card.response_code  # the code message/send returned, used once

    clock.advance(600)
    await stack.sandbox.tap_card_button("chen", task, f"eq:fix:{alert.id}")
    await delivered(stack)
    for userid in ("chen", "wang"):  # one card for both now: fixed by 陈师傅, the reason still to pick
        form = shown(stack, userid, task)
        assert "已由 陈师傅 于" in form["main_title"]["desc"] and "修复" in form["main_title"]["desc"]
        assert buttons(form) == [("提交原因", f"eq:reason:{alert.id}")]
    submitted = await stack.sandbox.tap_card_button("chen", task, f"eq:reason:{alert.id}",
                                                    selected={"reason": ["TOOL"]})
    assert submitted.reply is None
    await stack.sandbox.wait_for_message(lambda m: m.touser == ["chen"] and "刀具/模具" in str(m.payload))
    await delivered(stack)
    for userid in ("chen", "wang"):
        final = shown(stack, userid, task)
        assert rows(final)["停机原因"] == "刀具/模具" and "陈师傅" in final["main_title"]["desc"]
    [alert] = await alerts(stack.services.sessions)
    assert alert.status == "fixed" and alert.reason_code == "TOOL" and alert.reason_at == clock()
    passive = [m for m in stack.sandbox.messages_for("chen") if m.api == "passive_reply"]
    assert passive == []  # every change came as a whole new card


async def test_fixed_by_text_after_status_names_the_machine(
        stack: Stack, sim: PlantSimulator, drive: Driver, clock: FakeClock) -> None:
    await sim.fail("L1-M1", alarm=105)
    await drive.step()
    await drive.step(61)
    await stack.sandbox.wait_for_message(lambda m: m.msgtype == "template_card")
    await delivered(stack)
    [alert] = await alerts(stack.services.sessions)
    assert "没有接单中" in (await stack.sandbox.send_text("wang", "已修复")).reply["Content"]  # type: ignore[index]
    await stack.sandbox.tap_card_button("wang", alert.task_id, f"eq:ack:{alert.id}")
    status = (await stack.sandbox.send_text("wang", "设备状态")).reply["Content"]  # type: ignore[index]
    assert "报警维修中（王师傅）" in status and "「已修复 L1-M1」" in status
    clock.advance(300)
    asked = (await stack.sandbox.send_text("wang", "已修复 l1-m1")).reply["Content"]  # type: ignore[index]
    assert "请回复停机原因编号" in asked
    saved = (await stack.sandbox.send_text("wang", "1")).reply["Content"]  # type: ignore[index]
    assert "机械故障" in saved
    [alert] = await alerts(stack.services.sessions)
    assert (alert.status, alert.fixed_at, alert.reason_code) == ("fixed", clock(), "MECH")
    await delivered(stack)
    # Typed in chat, the fix and the reason brought no response code: the send's last code showed the fix
    form = shown(stack, "wang", alert.task_id)
    assert "已由 王师傅 于" in form["main_title"]["desc"] and buttons(form) == [("提交原因", f"eq:reason:{alert.id}")]
    await stack.sandbox.tap_card_button("wang", alert.task_id, f"eq:reason:{alert.id}", selected={"reason": ["ELEC"]})
    await delivered(stack)  # the tap's code brings the card up to date; the reason typed first stays
    final = shown(stack, "wang", alert.task_id)
    assert rows(final)["停机原因"] == "机械故障" and buttons(final) == [("刷新", f"eq:view:{alert.id}")]
    [alert] = await alerts(stack.services.sessions)
    assert alert.reason_code == "MECH"
    again = (await stack.sandbox.send_text("wang", "已修复 L1-M1")).reply["Content"]  # type: ignore[index]
    assert "没有待处理的停机报警" in again


async def test_cancelled_alert_says_the_machine_restarted_on_delivered_and_queued_cards(
        stack: Stack, sim: PlantSimulator, drive: Driver, clock: FakeClock) -> None:
    await sim.fail("L1-M1", alarm=105)
    await drive.step()
    await drive.step(61)
    delivered_card = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "template_card")
    await delivered(stack)
    stack.sandbox.inject_fault("message/send", errcode=-1, times=100)  # WeCom busy: the next card stays queued
    await sim.fail("L1-M2", alarm=120)
    await drive.step()
    await drive.step(61)
    first, second = await alerts(stack.services.sessions)

    async def second_card_tried() -> bool:
        async with stack.services.sessions() as session:
            row = await session.scalar(select(OutboxMessage).where(
                OutboxMessage.idempotency_key == f"andon:{second.id}:L0"))
            return row is not None and row.attempts >= 1 and row.status == "pending" and row.response_code is None
    await eventually(second_card_tried)

    async def long_backoff() -> bool:
        """As after WeCom stayed busy for long: the sender is not resending the card while the clock moves below."""
        async with stack.services.sessions.begin() as session:
            done = await session.execute(update(OutboxMessage).where(
                OutboxMessage.idempotency_key == f"andon:{second.id}:L0", OutboxMessage.status == "pending")
                .values(next_attempt_at=clock() + timedelta(days=1)))
        return done.rowcount == 1  # type: ignore[attr-defined]
    await eventually(long_backoff)

    await sim.repair("L1-M1")
    await sim.repair("L1-M2")
    await drive.step(5)
    clock.advance(300)
    await andon_escalation.run(stack.services, clock())
    assert [a.status for a in await alerts(stack.services.sessions)] == ["cancelled", "cancelled"]
    closed = await stack.sandbox.wait_for_message(lambda m: m.api == "update_template_card")
    assert closed.touser == ["wang"] and closed.response_code == delivered_card.response_code
    desc = shown(stack, "wang", first.task_id)["main_title"]["desc"]
    assert "恢复运行" in desc and "报警已取消" in desc and "已停机" not in desc
    async with stack.services.sessions() as session:
        updates = (await session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "card_update"))).all()
        queued = await session.scalar(select(OutboxMessage).where(
            OutboxMessage.idempotency_key == f"andon:{second.id}:L0"))
    assert [row.idempotency_key for row in updates] == [f"andon:{first.id}:L0:u1"]  # none for the queued card
    assert queued is not None and "报警已取消" in queued.payload["main_title"]["desc"]  # it leaves with the news
