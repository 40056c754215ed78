"""Reporting rules against a real database: roles and lines, quantities, over-reporting, undo, approvals."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import User
from bot.models.reports import ReportChange, WorkReport
from bot.plant_calendar import PlantCalendar, default_shifts
from bot.reports.approvals import ApprovalService
from bot.reports.errors import ReportRefused
from bot.reports.settings import ReportsSettings

from .seed import Seeded, seed

pytestmark = pytest.mark.db
TZ = ZoneInfo("Asia/Shanghai")
CAL = PlantCalendar(TZ, default_shifts())
NOW = datetime(2026, 11, 3, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai: day shift


@pytest.fixture
async def seeded(session_factory: async_sessionmaker[AsyncSession]) -> Seeded:
    return await seed(session_factory)


class Run:
    """Runs one service call in its own transaction, as a handler would."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: ReportsSettings) -> None:
        self.sessions, self.settings = sessions, settings

    async def __call__(self, userid: str, action: str, *args: object, now: datetime = NOW, **kw: object) -> object:
        async with self.sessions.begin() as s:
            user = await s.scalar(select(User).where(User.wecom_userid == userid))
            service = ApprovalService(s, self.settings, CAL, now)
            return await getattr(service, action)(user, *args, **kw)


def runner(session_factory: async_sessionmaker[AsyncSession], **settings: object) -> Run:
    return Run(session_factory, ReportsSettings(**settings))  # type: ignore[arg-type]


async def count(sessions: async_sessionmaker[AsyncSession], model: type = WorkReport) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_report_records_who_when_shift_and_source(session_factory, seeded: Seeded) -> None:
    run = runner(session_factory)
    result = await run("op1", "report", seeded.op10, 48, 2, "DIM", source="chat", idempotency_key="k1")
    assert (result.good, result.scrap, result.reason_name, result.status) == (48, 2, "尺寸超差", "confirmed")
    assert (result.shift_code, result.shift_day.isoformat(), result.source) == ("D", "2026-11-03", "chat")
    assert result.operation.remaining == 52 and result.reporter_userid == "op1"
    assert result.undo_until == NOW + timedelta(minutes=10)


async def test_night_shift_after_midnight_belongs_to_the_day_it_started(session_factory, seeded: Seeded) -> None:
    run = runner(session_factory)
    night = datetime(2026, 11, 3, 18, 0, tzinfo=UTC)  # 02:00 local on Nov 4
    result = await run("op1", "report", seeded.op10, 5, 0, None, source="h5", idempotency_key="n", now=night)
    assert (result.shift_code, result.shift_name, result.shift_day.isoformat()) == ("N", "夜班", "2026-11-03")


async def test_same_idempotency_key_is_one_report(session_factory, seeded: Seeded) -> None:
    run = runner(session_factory)
    first = await run("op1", "report", seeded.op10, 10, 0, None, source="h5", idempotency_key="same")
    again = await run("op1", "report", seeded.op10, 10, 0, None, source="h5", idempotency_key="same")
    assert again.duplicate and again.id == first.id and not first.duplicate
    assert await count(session_factory) == 1


@pytest.mark.parametrize(("userid", "op", "code"), [
    ("op_l2", "op10", "wrong_line"), ("qc1", "op10", "not_reporter"),
    ("op1", "draft_op", "not_released"), ("op1", "closed_op", "closed"),
])
async def test_who_and_what_may_be_reported(session_factory, seeded: Seeded, userid: str, op: str,
                                            code: str) -> None:
    run = runner(session_factory)
    with pytest.raises(ReportRefused) as refused:
        await run(userid, "report", getattr(seeded, op), 1, 0, None, source="chat", idempotency_key="x")
    assert refused.value.reason_code == code and refused.value.message_zh
    assert await count(session_factory) == 0


async def test_admin_and_team_lead_may_report(session_factory, seeded: Seeded) -> None:
    run = runner(session_factory)
    await run("admin", "report", seeded.op10, 1, 0, None, source="chat", idempotency_key="a")
    await run("lead1", "report", seeded.op10, 1, 0, None, source="chat", idempotency_key="b")
    assert await count(session_factory) == 2


@pytest.mark.parametrize(("good", "scrap", "reason", "code"), [
    (-1, 0, None, "bad_quantity"), (0, 0, None, "zero_quantity"), (1, 2, None, "reason_required"),
    (1, 2, "NOPE", "unknown_reason"), (10**7, 0, None, "bad_quantity"),
])
async def test_quantities_are_checked(session_factory, seeded: Seeded, good: int, scrap: int,
                                      reason: str | None, code: str) -> None:
    with pytest.raises(ReportRefused) as refused:
        await runner(session_factory)("op1", "report", seeded.op10, good, scrap, reason, source="chat",
                                      idempotency_key="q")
    assert refused.value.reason_code == code


async def test_over_report_refused_by_policy(session_factory, seeded: Seeded) -> None:
    run = runner(session_factory, over_report="refuse", tolerance_percent=5.0)
    await run("op1", "report", seeded.op10, 100, 0, None, source="chat", idempotency_key="1")
    await run("op1", "report", seeded.op10, 5, 0, None, source="chat", idempotency_key="2")  # 5 % tolerance
    with pytest.raises(ReportRefused) as refused:
        await run("op1", "report", seeded.op10, 1, 0, None, source="chat", idempotency_key="3")
    assert refused.value.reason_code == "over_report" and "剩余 0" in refused.value.message_zh
    assert await count(session_factory) == 2


async def test_over_report_goes_to_the_team_lead_and_counts_once_approved(session_factory,
                                                                          seeded: Seeded) -> None:
    run = runner(session_factory, over_report="approve")
    pending = await run("op1", "report", seeded.op10, 120, 0, None, source="chat", idempotency_key="o")
    assert pending.status == "pending" and pending.approvers == ["lead1"] and pending.change_id
    with pytest.raises(ReportRefused, match="not_approver"):
        await run("lead2", "decide", pending.change_id, True)
    decided = await run("lead1", "decide", pending.change_id, True)
    assert decided.report.status == "confirmed" and decided.report.operation.good == 120
    with pytest.raises(ReportRefused, match="already_decided"):
        await run("lead1", "decide", pending.change_id, False)


async def test_rejected_over_report_does_not_count(session_factory, seeded: Seeded) -> None:
    run = runner(session_factory)
    pending = await run("op1", "report", seeded.op10, 150, 0, None, source="chat", idempotency_key="o")
    decided = await run("admin", "decide", pending.change_id, False)
    assert decided.report.status == "rejected" and decided.report.operation.good == 0


async def test_undo_inside_the_window_only_and_only_ones_own(session_factory, seeded: Seeded) -> None:
    run = runner(session_factory, undo_minutes=5)
    a = await run("op1", "report", seeded.op10, 10, 0, None, source="chat", idempotency_key="a")
    b = await run("op1", "report", seeded.op10, 20, 0, None, source="chat", idempotency_key="b")
    with pytest.raises(ReportRefused, match="not_yours"):
        await run("op2", "undo", a.id)
    undone = await run("op1", "undo", a.id, now=NOW + timedelta(minutes=4))
    assert undone.status == "undone" and undone.operation.good == 20
    with pytest.raises(ReportRefused, match="already_undone"):
        await run("op1", "undo", a.id, now=NOW + timedelta(minutes=4))
    with pytest.raises(ReportRefused) as late:
        await run("op1", "undo", b.id, now=NOW + timedelta(minutes=6))
    assert late.value.reason_code == "undo_expired" and f"更正 {b.id}" in late.value.message_zh


async def test_correction_after_the_window_needs_approval_and_keeps_history(session_factory,
                                                                            seeded: Seeded) -> None:
    run = runner(session_factory, undo_minutes=5)
    report = await run("op1", "report", seeded.op10, 10, 0, None, source="chat", idempotency_key="a")
    inside = await run("op1", "correct", report.id, 12, 0, None, now=NOW + timedelta(minutes=1))
    assert inside.status == "applied" and inside.report.good == 12
    later = NOW + timedelta(hours=2)
    asked = await run("op1", "correct", report.id, 8, 2, "LOOK", now=later)
    assert asked.status == "pending" and asked.approvers == ["lead1"] and asked.report.good == 12
    with pytest.raises(ReportRefused, match="correction_pending"):
        await run("op1", "correct", report.id, 9, 0, None, now=later)
    done = await run("lead1", "decide", asked.change_id, True, now=later)
    assert (done.report.good, done.report.scrap, done.report.reason_code) == (8, 2, "LOOK")
    async with session_factory() as s:
        history = await ApprovalService(s, ReportsSettings(), CAL, later).history(report.id)
    assert [(c.kind, c.status, c.old_good, c.new_good) for c in history] == [
        ("correction", "applied", 10, 12), ("correction", "approved", 12, 8)]
    assert await count(session_factory, ReportChange) == 2


async def test_machine_qr_finds_the_current_released_operation(session_factory, seeded: Seeded) -> None:
    async with session_factory() as s:
        service = ApprovalService(s, ReportsSettings(), CAL, NOW)
        view = await service.operation_for("machine", ("L1-M1",))
        assert (view.work_order_code, view.seq) == ("WO-001", 10)  # not the draft or closed order
        with pytest.raises(ReportRefused, match="unknown_work_order"):
            await service.operation_for("op", ("WO-404", "10"))
        with pytest.raises(ReportRefused, match="unknown_machine"):
            await service.operation_for("machine", ("NOPE",))


async def test_concurrent_reports_cannot_both_pass_the_tolerance(session_factory, seeded: Seeded) -> None:
    """Regression: each of two simultaneous reports fits the plan, together they do not. The second must wait
    for the first's transaction (a row lock on PostgreSQL, the single writer on SQLite), then be refused."""
    import asyncio

    run = runner(session_factory, over_report="refuse")
    async with session_factory.begin() as first:
        user = await first.scalar(select(User).where(User.wecom_userid == "op1"))
        await ApprovalService(first, run.settings, CAL, NOW).report(
            user, seeded.op10, 60, 0, None, source="chat", idempotency_key="race-1")
        second = asyncio.create_task(
            run("op2", "report", seeded.op10, 60, 0, None, source="chat", idempotency_key="race-2"))
        await asyncio.sleep(0.3)
        assert not second.done(), "the second report read the plan before the first one committed"
    with pytest.raises(ReportRefused) as refused:
        await second
    assert refused.value.reason_code == "over_report"
    assert await count(session_factory) == 1
