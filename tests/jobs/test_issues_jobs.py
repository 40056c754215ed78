"""The issue jobs with a clock we drive: the morning reminder (one message per owner), escalation to PMs then
managers (each step once), and the downtime hooks (a fix with reason 其他, a machine that keeps stopping)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.issues import open_issue
from bot.models import Machine, OutboxMessage, User
from bot.models.equipment import DowntimeAlert, MachineState
from bot.models.issues import Issue
from jobs import issues_downtime, issues_reminders
from tests.conftest import Stack
from tests.handlers.issues_support import seed_people


async def _outbox(stack: Stack, prefix: str) -> list[OutboxMessage]:
    async with stack.services.sessions() as session:
        return list(await session.scalars(select(OutboxMessage).where(
            OutboxMessage.idempotency_key.startswith(prefix)).order_by(OutboxMessage.id)))


async def test_owners_are_reminded_once_and_overdue_issues_escalate_each_step_once(stack: Stack) -> None:
    seeded = await seed_people(stack)
    now = stack.services.clock()
    today = stack.services.settings.calendar.day_of(now)
    async with stack.services.sessions.begin() as session:
        op1 = await session.get(User, seeded.users["op1"])
        for title, days_late in (("今天到期", 0), ("逾期三天", 3), ("逾期六天", 6), ("下周", -7)):
            opened = await open_issue(session, services=stack.services, source="chat", ref=None, title=title,
                                      category="设备", reporter=op1, now=now)
            opened.issue.due_on = today - timedelta(days=days_late)
    await issues_reminders.run(stack.services, now)
    await issues_reminders.run(stack.services, now + timedelta(minutes=1))  # a rerun sends nothing twice

    [reminder] = await _outbox(stack, "iss:remind:")
    assert reminder.target["touser"] == ["maint1"]
    text = reminder.payload["content"]
    assert "今天到期" in text and "逾期三天" in text and "逾期六天" in text and "下周" not in text
    async with stack.services.sessions() as session:
        levels = {i.title: i.escalation_level for i in await session.scalars(select(Issue))}
    assert levels == {"今天到期": 0, "逾期三天": 1, "逾期六天": 2, "下周": 0}
    escalations = [m for m in await _outbox(stack, "iss:") if m.msgtype == "template_card"
                   and m.target["touser"] != ["maint1"]]
    assert sorted(m.target["touser"][0] for m in escalations) == ["mgr1", "pm1", "pm1"]
    assert all(m.priority == 1 for m in escalations)

    await issues_reminders.run(stack.services, now + timedelta(days=1))
    assert len(await _outbox(stack, "iss:remind:")) == 2, "a new day, a new reminder"
    again = [m for m in await _outbox(stack, "iss:") if m.msgtype == "template_card"]
    assert len(again) == len(escalations) + 4, "no escalation twice (4 owner cards were sent at creation)"


async def _alert(stack: Stack, machine_id: int, at: object, **fields: object) -> int:
    async with stack.services.sessions.begin() as session:
        state = MachineState(machine_id=machine_id, state="down", start_at=at, end_at=at)
        session.add(state)
        await session.flush()
        alert = DowntimeAlert(machine_id=machine_id, state_id=state.id, down_start=at, raised_at=at,
                              task_id=f"t-{state.id}", **fields)
        session.add(alert)
        await session.flush()
        return alert.id


async def test_a_fix_with_reason_other_opens_one_issue_linked_to_its_alert(stack: Stack) -> None:
    seeded = await seed_people(stack)
    now = stack.services.clock()
    async with stack.services.sessions() as session:
        machine_id = await session.scalar(select(Machine.id).where(Machine.code == "L1-M2"))
    alert_id = await _alert(stack, machine_id, now - timedelta(minutes=40), status="fixed", reason_code="OTHER",
                            reason_at=now - timedelta(minutes=5), fixed_at=now - timedelta(minutes=10),
                            fixed_by=seeded.users["maint1"])
    await _alert(stack, machine_id, now - timedelta(hours=30), status="fixed", reason_code="MECH",
                 reason_at=now - timedelta(hours=29))
    assert await issues_downtime.run(stack.services, now) == 1
    assert await issues_downtime.run(stack.services, now + timedelta(minutes=1)) == 0
    async with stack.services.sessions() as session:
        [issue] = list(await session.scalars(select(Issue)))
    assert (issue.source, issue.source_ref, issue.machine_id) == ("downtime", f"alert:{alert_id}", machine_id)
    reply = (await stack.sandbox.send_text("maint1", f"问题 {issue.number}")).reply["Content"]
    assert f"来源：停机报警 #{alert_id}" in reply


async def test_a_machine_stopping_three_times_in_the_window_opens_one_issue_per_window(stack: Stack) -> None:
    await seed_people(stack)
    now = stack.services.clock()
    async with stack.services.sessions() as session:
        machine_id = await session.scalar(select(Machine.id).where(Machine.code == "L1-M1"))
    for hours in (20, 8, 1):
        last = await _alert(stack, machine_id, now - timedelta(hours=hours), status="fixed")
    await _alert(stack, machine_id, now - timedelta(hours=30), status="fixed")  # outside the 24 h window
    assert await issues_downtime.run(stack.services, now) == 1
    await _alert(stack, machine_id, now + timedelta(minutes=10), status="fixed")
    assert await issues_downtime.run(stack.services, now + timedelta(minutes=20)) == 0, "the counted stops are spent"
    for minutes in (30, 40):
        await _alert(stack, machine_id, now + timedelta(minutes=minutes), status="fixed")
    assert await issues_downtime.run(stack.services, now + timedelta(hours=1)) == 1
    async with stack.services.sessions() as session:
        refs = list(await session.scalars(select(Issue.source_ref).order_by(Issue.id)))
        assert await session.scalar(select(func.count()).select_from(Issue)) == 2
    assert refs[0] == f"stops:{machine_id}:{last}"
