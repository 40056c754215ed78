"""Issue 11 items 3 and 4: an approved report is not undone behind the approver's back; every message names
remaining (planned minus confirmed good) and what waits for approval apart."""
from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.reports.errors import ReportRefused

from .seed import Seeded, seed
from .test_service import runner

pytestmark = pytest.mark.db


@pytest.fixture
async def seeded(session_factory: async_sessionmaker[AsyncSession]) -> Seeded:
    return await seed(session_factory)


async def approved_over_report(session_factory: async_sessionmaker[AsyncSession], seeded: Seeded,
                               **settings: object) -> int:
    run = runner(session_factory, **settings)
    pending = await run("op1", "report", seeded.op10, 130, 0, None, source="chat", idempotency_key="k1")
    await run("lead1", "decide", pending.change_id, approve=True)  # type: ignore[attr-defined]
    return pending.id  # type: ignore[attr-defined]


async def test_undoing_an_approved_report_waits_for_an_approver_again(
        session_factory: async_sessionmaker[AsyncSession], seeded: Seeded) -> None:
    report_id = await approved_over_report(session_factory, seeded)
    run = runner(session_factory)
    asked = await run("op1", "undo", report_id)
    assert asked.status == "confirmed" and asked.change_id is not None and asked.approvers == ["lead1"]
    with pytest.raises(ReportRefused) as twice:
        await run("op1", "undo", report_id)
    assert twice.value.reason_code == "undo_pending"
    decided = await run("lead1", "decide", asked.change_id, approve=True)
    assert decided.kind == "undo" and decided.report.status == "undone"
    assert decided.report.operation.remaining == 100


async def test_undoing_an_approved_report_is_refused_when_configured_and_names_whom_to_tell(
        session_factory: async_sessionmaker[AsyncSession], seeded: Seeded) -> None:
    report_id = await approved_over_report(session_factory, seeded, undo_after_approval="refuse")
    with pytest.raises(ReportRefused) as refused:
        await runner(session_factory, undo_after_approval="refuse")("op1", "undo", report_id)
    assert refused.value.reason_code == "undo_approved" and refused.value.details["tell"] == ["lead1"]
    assert "赵班长" in refused.value.message_zh


async def test_a_refusal_names_remaining_and_pending_as_the_scan_does(
        session_factory: async_sessionmaker[AsyncSession], seeded: Seeded) -> None:
    run = runner(session_factory)
    await run("op1", "report", seeded.op10, 48, 0, None, source="chat", idempotency_key="k1")
    pending = await run("op1", "report", seeded.op10, 60, 0, None, source="chat", idempotency_key="k2")
    assert pending.status == "pending"  # type: ignore[attr-defined]
    view = pending.operation  # type: ignore[attr-defined]
    assert (view.remaining, view.pending_good) == (52, 60)
    with pytest.raises(ReportRefused) as refused:
        await runner(session_factory, over_report="refuse")("op1", "report", seeded.op10, 10, 0, None,
                                                            source="chat", idempotency_key="k3")
    assert "剩余 52，另有 60 待审批" in refused.value.message_zh


def test_undo_after_approval_must_be_a_known_policy() -> None:
    from bot.reports.settings import ReportsSettings

    assert any("undo_after_approval" in p for p in ReportsSettings(undo_after_approval="maybe").validate())
