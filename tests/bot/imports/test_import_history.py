"""Reports and machine states: operations, shifts, idempotent re-imports, overlaps in the file and the DB."""
from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.models import Operation, WorkOrder
from bot.models.equipment import MachineState
from bot.models.reports import WorkReport
from tests.bot.imports.support import run, seed_masters, write

pytestmark = pytest.mark.db
REPORTS = ("reported_at,user,work_order,operation,machine,good,scrap\n"
           "2026-01-05 12:00,op1,WO1,,M1,100,2\n"
           "2026-01-05 21:30,op1,WO1,,M2,0,7\n"
           "2026-01-06 07:59,lead1,WO1,,M1,50,0\n")


async def test_reports_get_operations_shifts_and_keys(session_factory, tmp_path: Path) -> None:
    await seed_masters(session_factory, tmp_path)
    path = write(tmp_path, "r.csv", REPORTS)
    summary = await run(session_factory, "reports", path)
    assert summary.ok and summary.rows_loaded == 3, summary.rejected
    async with session_factory() as session:
        reports = (await session.scalars(select(WorkReport).order_by(WorkReport.created_at))).all()
        ops = (await session.scalars(select(Operation).order_by(Operation.seq))).all()
    assert [(r.shift_day, r.shift_code) for r in reports] == [
        (date(2026, 1, 5), "D"), (date(2026, 1, 5), "N"), (date(2026, 1, 5), "N")]
    assert reports[0].created_at == datetime(2026, 1, 5, 4, tzinfo=UTC)
    assert {r.source for r in reports} == {"import"} and {r.status for r in reports} == {"confirmed"}
    # the order had no operations: one per machine was created, each report sits on its machine's one
    assert {(op.machine_id, op.seq) for op in ops} == {(reports[0].machine_id, 1), (reports[1].machine_id, 2)} or \
        {(op.machine_id, op.seq) for op in ops} == {(reports[0].machine_id, 2), (reports[1].machine_id, 1)}
    by_machine = {op.machine_id: op.id for op in ops}
    assert all(r.operation_id == by_machine[r.machine_id] for r in reports)
    assert reports[1].good == 0 and reports[1].scrap == 7  # scrap-only
    again = await run(session_factory, "reports", path)
    assert again.ok and again.rows_loaded == 0 and again.rows_rejected == 3
    assert {reason for _, reason in again.rejected} == {"report already imported"}


async def test_report_attaches_to_existing_operations(session_factory, tmp_path: Path) -> None:
    await seed_masters(session_factory, tmp_path)
    async with session_factory.begin() as session:
        order = await session.scalar(select(WorkOrder).where(WorkOrder.code == "WO2"))
        session.add_all([Operation(work_order_id=order.id, seq=10, name="下料", machine_id=None,
                                   planned_quantity=100),
                         Operation(work_order_id=order.id, seq=20, name="冲压", machine_id=None,
                                   planned_quantity=100)])
    text = ("reported_at,user,work_order,operation,machine,good,scrap\n"
            "2026-01-05 12:00,op1,WO2,,M1,1,0\n2026-01-05 12:01,op1,WO2,20,M1,2,0\n"
            "2026-01-05 12:02,op1,WO2,冲压,M1,3,0\n")
    assert (await run(session_factory, "reports", write(tmp_path, "r.csv", text))).ok
    async with session_factory() as session:
        rows = (await session.execute(select(WorkReport.good, Operation.seq)
                                      .join(Operation, WorkReport.operation_id == Operation.id)
                                      .order_by(WorkReport.good))).all()
    assert rows == [(1, 10), (2, 20), (3, 20)]


async def test_report_problems(session_factory, tmp_path: Path) -> None:
    await seed_masters(session_factory, tmp_path)
    text = ("reported_at,user,work_order,operation,machine,good,scrap\n"
            "2026-01-05 12:00,op1,WO1,,M1,10,x\n"
            "2026-01-05 12:00,ghost,WO9,,M7,1.5,-1\n"
            "2026-01-05 25:00,op1,WO1,,M1,1,0\n"
            "2026-01-05 13:00,op1,WO1,,M1,,\n"
            "2026-01-05 14:00,op1,WO1,,M1,5,0\n"
            "2026-01-05 14:00,op1,WO1,,M1,5,0\n")
    summary = await run(session_factory, "reports", write(tmp_path, "r.csv", text))
    reasons = dict(summary.rejected)
    assert summary.aborted and summary.rows_loaded == 0
    assert reasons[2] == "scrap: must be a whole number >= 0"
    assert "user: unknown user ghost" in reasons[3] and "machine: unknown machine M7" in reasons[3]
    assert "work_order: unknown work order WO9" in reasons[3] and "good: must be" in reasons[3]
    assert reasons[4].startswith("reported_at: not a date/time")
    assert reasons[5] == "good/scrap: missing"
    assert reasons[7] == "duplicate report (same as row 6)"
    assert 6 not in reasons


STATES = ("machine,state,start,end,reason\n"
          "M1,running,2026-01-05 08:00,2026-01-05 10:00,\n"
          "M1,down,2026-01-05 10:00,2026-01-05 10:47,JAM\n"
          "M2,unknown,2026-01-05T02:00:00Z,2026-01-05T03:00:00Z,\n")


async def test_states_load_and_overlaps(session_factory, tmp_path: Path) -> None:
    await seed_masters(session_factory, tmp_path)
    path = write(tmp_path, "s.csv", STATES)
    assert (await run(session_factory, "machine-states", path)).rows_loaded == 3
    async with session_factory() as session:
        rows = (await session.scalars(select(MachineState).order_by(MachineState.start_at))).all()
    assert rows[0].start_at == datetime(2026, 1, 5, tzinfo=UTC) and rows[0].source == "import"
    assert rows[1].reason_code == "JAM" and rows[0].reason_code is None
    again = await run(session_factory, "machine-states", path)
    assert again.ok and again.rows_loaded == 0 and again.rows_rejected == 3
    text = ("machine,state,start,end\n"
            "M1,running,2026-01-05 11:00,2026-01-05 12:00\n"
            "M1,idle,2026-01-05 11:30,2026-01-05 11:45\n"
            "M1,idle,2026-01-05 11:00,2026-01-05 11:10\n"
            "M1,running,2026-01-05 10:30,2026-01-05 11:00\n"
            "M1,flying,2026-01-05 13:00,2026-01-05 14:00\n"
            "M1,idle,2026-01-05 15:00,2026-01-05 14:00\n"
            "M9,idle,2026-01-05 15:00,2026-01-05 16:00\n")
    bad = await run(session_factory, "machine-states", write(tmp_path, "bad.csv", text))
    reasons = dict(bad.rejected)
    assert bad.aborted
    assert reasons[3] == "overlaps the interval in row 2"
    assert reasons[4] == "duplicate interval (same machine and start) (same as row 2)"
    assert reasons[5].startswith("overlaps an interval already in the database")
    assert reasons[6].startswith("state: must be one of")
    assert reasons[7] == "end: not after start"
    assert reasons[8] == "machine: unknown machine M9"
    assert 2 not in reasons


async def test_named_operations_are_created_for_orders_without_any(session_factory, tmp_path: Path) -> None:
    await seed_masters(session_factory, tmp_path)
    text = ("reported_at,user,work_order,operation,machine,good,scrap\n"
            "2026/1/5 9:00,op1,WO2,20,M1,1,0\n"
            "2026-01-05 09:10,op1,WO2,焊接,M3,2,0\n"
            "2026-01-05 09:20,op1,WO2,,M1,3,0\n"
            "2026-01-05 09:30,op1,WO2,,M2,\"1,004\",0\n")
    summary = await run(session_factory, "reports", write(tmp_path, "r.csv", text))
    assert summary.ok and summary.rows_loaded == 4, summary.rejected
    async with session_factory() as session:
        rows = (await session.execute(select(WorkReport.good, Operation.seq, Operation.name)
                                      .join(Operation, WorkReport.operation_id == Operation.id)
                                      .order_by(WorkReport.created_at))).all()
    # seq 20 on M1; 焊接 follows as 21; the unnamed M1 report joins seq 20; M2 has none: the first (20)
    assert rows == [(1, 20, "冲压机1"), (2, 21, "焊接"), (3, 20, "冲压机1"), (1004, 20, "冲压机1")]
