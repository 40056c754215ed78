"""Issue 11 item 6: a machine label shows the machine (state, since when, open alert, today's figures) with what
the scanner's role may do there; 报修 calls maintenance by hand with the same alert, card and 接单/已修复 as a stop."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.models import Machine
from bot.models.equipment import DowntimeAlert, MachineState
from bot.qr import QrPayload
from tests.bot.equipment.support import T0, FakeClock
from tests.conftest import Stack
from tests.handlers.cards_support import buttons, delivered, shown

from .reports_support import reports, seed_stack

pytestmark = pytest.mark.db
NOW = T0 + timedelta(hours=2)  # 10:00 in Shanghai


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


def label(stack: Stack, code: str) -> str:
    assert stack.services.qr is not None
    return stack.services.qr.url(QrPayload("machine", (code,)))


async def scan(stack: Stack, userid: str, code: str) -> str:
    result = await stack.sandbox.scan(userid, label(stack, code))
    assert result.reply is not None
    return str(result.reply["Content"])


async def say(stack: Stack, userid: str, text: str) -> str:
    result = await stack.sandbox.send_text(userid, text)
    assert result.reply is not None
    return str(result.reply["Content"])


@pytest.fixture
async def plant(stack: Stack) -> Stack:
    seeded = await seed_stack(stack)
    await stack.add_user("wang", "王师傅", ["maintenance"], line_id=seeded.line1)
    async with stack.services.sessions.begin() as session:
        m1 = await session.scalar(select(Machine.id).where(Machine.code == "L1-M1"))
        session.add(MachineState(machine_id=m1, state="running", start_at=T0 + timedelta(minutes=30)))
    return stack


async def alerts(stack: Stack) -> list[DowntimeAlert]:
    async with stack.services.sessions() as session:
        return list(await session.scalars(select(DowntimeAlert).order_by(DowntimeAlert.id)))


async def test_maintenance_scanning_a_machine_label_sees_the_machine_not_a_reporting_refusal(plant: Stack) -> None:
    text = await scan(plant, "wang", "L1-M1")
    assert "不能报工" not in text
    assert "设备 L1-M1 一号冲床" in text and "运行，自 03-02 08:30" in text and "今日：" in text
    assert "「报修」" in text and "「接单」" not in text  # nothing to take yet
    assert "工单" not in text  # maintenance does not report


async def test_operator_scan_shows_machine_and_current_operation_and_a_unit_typed_reports(plant: Stack) -> None:
    text = await scan(plant, "op1", "L1-M1")
    assert "设备 L1-M1" in text and "运行" in text and "WO-001" in text and "冲压" in text and "「报修」" in text
    assert plant.services.qr is not None
    form = plant.services.qr.url(QrPayload("op", ("WO-001", "10")))
    assert f'<a href="{form}">' in text  # the H5 form of the operation the label reports on
    done = await say(plant, "op1", "４８件")
    assert "报工成功" in done
    assert [(r.good, r.scrap) for r in await reports(plant)] == [(48, 0)]
    again = await scan(plant, "lead1", "L1-M1")  # today's figures come from the KPI service
    assert "良品 48" in again and "WO-001" in again


async def test_operator_calls_maintenance_who_takes_and_fixes_from_the_label(plant: Stack, clock: FakeClock) -> None:
    await scan(plant, "op1", "L1-M1")
    called = await say(plant, "op1", "报修")
    assert "已通知维修" in called and "L1-M1" in called
    [alert] = await alerts(plant)
    assert (alert.source, alert.status, alert.down_start) == ("manual", "open", clock())
    card = await plant.sandbox.wait_for_message(lambda m: m.msgtype == "template_card" and m.touser == ["wang"])
    assert "报修" in card.payload["main_title"]["title"]
    assert buttons(card.payload) == [("接单", f"eq:ack:{alert.id}"), ("已修复", f"eq:fix:{alert.id}")]
    assert "无需重复报修" in await say(plant, "op2", "报修 l1-m1")  # one call, one card
    await delivered(plant)

    clock.advance(120)
    view = await scan(plant, "wang", "L1-M1")
    assert "人工报修，待接单" in view and "「接单」" in view and "「已修复」" in view
    taken = await say(plant, "wang", "接单")
    assert "已接单" in taken and "L1-M1" in taken
    await delivered(plant)
    assert buttons(shown(plant, "wang", alert.task_id)) == [("已修复", f"eq:fix:{alert.id}")]  # the card follows
    clock.advance(600)
    assert "停机原因" in await say(plant, "wang", "已修复 Ｌ１－Ｍ１")
    assert "机械故障" in await say(plant, "wang", "１")
    [alert] = await alerts(plant)
    assert (alert.status, alert.reason_code) == ("fixed", "MECH")
    assert alert.raised_by is not None and alert.acknowledged_at == NOW + timedelta(seconds=120)


async def test_a_call_on_a_machine_nobody_collects_is_down_time_until_the_fix(plant: Stack, clock: FakeClock) -> None:
    await scan(plant, "qc1", "L1-M2")
    await say(plant, "qc1", "报修")
    status = await say(plant, "op1", "设备状态 L1")
    assert "L1-M2 二号冲床：停机" in status
    clock.advance(900)
    await say(plant, "wang", "已修复 L1-M2")
    async with plant.services.sessions() as session:
        [down] = (await session.scalars(select(MachineState).join(Machine).where(Machine.code == "L1-M2"))).all()
    assert (down.state, down.source, down.start_at, down.end_at) == ("down", "manual", NOW, NOW + timedelta(minutes=15))


async def test_roles_see_only_their_actions_on_the_label(plant: Stack) -> None:
    quality = await scan(plant, "qc1", "L1-M1")
    assert "WO-001" not in quality and "不能报工" not in quality and "「报修」" in quality
    other_line = await scan(plant, "op_l2", "L1-M1")  # a reporter who may not report here is told why
    assert "L1-M1" in other_line and "其他产线" in other_line
    assert "您的角色不能使用此功能" in await say(plant, "op1", "接单 L1-M1")
    assert "注明设备" in await say(plant, "wang", "报修")  # no label scanned, no machine named


async def test_report_problem_after_the_label_files_an_issue_for_that_machine(plant: Stack) -> None:
    from bot.models.issues import Issue

    assert "「报告问题」" in await scan(plant, "qc1", "L1-M2")
    assert "报告 L1-M2 二号冲床 的问题" in await say(plant, "qc1", "报告问题")
    await say(plant, "qc1", "模具有裂纹")
    async with plant.services.sessions() as session:
        [issue] = (await session.scalars(select(Issue))).all()
        machine = await session.scalar(select(Machine.id).where(Machine.code == "L1-M2"))
    assert issue.machine_id == machine and "模具有裂纹" in issue.title


async def test_unknown_machine_label_says_so(plant: Stack) -> None:
    assert "未找到设备 NOPE" in await scan(plant, "wang", "NOPE")
