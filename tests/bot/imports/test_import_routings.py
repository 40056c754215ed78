"""Routings: operations with the work orders (one row per operation) or on their own; every bad row named,
all or nothing, a re-import loads nothing twice, and the reports import books onto the imported operations."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from bot.imports import ImportFileError
from bot.models import Machine, Operation, WorkOrder
from bot.models.reports import WorkReport
from tests.bot.imports.support import MACHINES, USERS, run, seed_masters, write

pytestmark = pytest.mark.db
ROUTED = ("work_order,material,quantity,due,released,line,seq,operation,machine,planned_quantity\n"
          "R1,MAT-A,500,2026-01-06,2026-01-05 07:00,L1,10,下料,M1,\n"
          "R1,MAT-A,500,2026-01-06,2026-01-05 07:00,L1,20,冲压,M2,480\n"
          "R1,MAT-A,500,2026-01-06,2026-01-05 07:00,L1,30,检验,,\n"
          "R2,MAT-B,80,2026-01-07,2026-01-05 07:00,,10,焊接,M3,\n"
          "R3,MAT-B,40,2026-01-07,,,,,,\n")


async def routing(session_factory) -> list[tuple[str, int, str, str | None, int]]:
    async with session_factory() as session:
        rows = (await session.execute(
            select(WorkOrder.code, Operation.seq, Operation.name, Machine.code, Operation.planned_quantity)
            .join(WorkOrder, WorkOrder.id == Operation.work_order_id)
            .outerjoin(Machine, Machine.id == Operation.machine_id).order_by(WorkOrder.code, Operation.seq))).all()
    return [tuple(row) for row in rows]


EXPECTED = [("R1", 10, "下料", "M1", 500), ("R1", 20, "冲压", "M2", 480), ("R1", 30, "检验", None, 500),
            ("R2", 10, "焊接", "M3", 80)]


async def test_work_orders_file_with_operation_columns_loads_orders_and_routings(session_factory,
                                                                              tmp_path: Path) -> None:
    await run(session_factory, "machines", write(tmp_path, "m.csv", MACHINES))
    path = write(tmp_path, "wo.csv", ROUTED)
    checked = await run(session_factory, "work-orders", path, dry_run=True)
    assert checked.ok and (checked.rows_read, checked.rows_held_back) == (5, 5), checked.rejected
    assert await routing(session_factory) == []
    loaded = await run(session_factory, "work-orders", path)
    assert loaded.ok and loaded.rows_loaded == 5, loaded.rejected
    assert await routing(session_factory) == EXPECTED  # an empty planned quantity is the order's
    async with session_factory() as session:
        orders = dict((await session.execute(select(WorkOrder.code, WorkOrder.quantity))).all())
    assert orders == {"R1": 500, "R2": 80, "R3": 40}  # one order per code, R3 without operations
    again = await run(session_factory, "work-orders", path)
    assert again.ok and (again.rows_loaded, again.rows_rejected, again.rows_updated) == (0, 5, 0)
    assert dict(again.rejected)[2] == "operation already in the database"
    assert dict(again.rejected)[6] == "work order already in the database"
    assert await routing(session_factory) == EXPECTED


async def test_operations_file_in_gb18030_adds_routings_to_loaded_orders(session_factory, tmp_path: Path) -> None:
    await seed_masters(session_factory, tmp_path)
    path = tmp_path / "ops.csv"
    path.write_bytes("work_order,seq,operation,machine,planned_quantity\r\nWO2,10,落料,M1,\r\nWO2,20,冲压成形,M2,90\r\n"
                     .encode("gb18030"))
    summary = await run(session_factory, "operations", path)
    assert summary.ok and summary.rows_loaded == 2 and summary.encoding == "GB18030", summary.rejected
    assert await routing(session_factory) == [("WO2", 10, "落料", "M1", 100), ("WO2", 20, "冲压成形", "M2", 90)]
    again = await run(session_factory, "operations", path)
    assert again.ok and (again.rows_loaded, again.rows_rejected) == (0, 2)


async def test_every_routing_problem_is_listed_by_row_and_nothing_loads(session_factory, tmp_path: Path) -> None:
    await seed_masters(session_factory, tmp_path)
    async with session_factory.begin() as session:  # WO2 belongs to line L1; M3 is on L2
        order = await session.scalar(select(WorkOrder).where(WorkOrder.code == "WO2"))
        order.line_id = (await session.scalar(select(Machine).where(Machine.code == "M1"))).line_id
    text = ("work_order,seq,operation,machine,planned_quantity\n"
            "WO2,10,下料,M1,\n"          # fine, but held back
            "WO2,10,冲压,M2,\n"          # same seq twice in one order
            "WO9,10,下料,M1,\n"          # unknown order
            "WO2,20,冲压,M7,\n"          # unknown machine
            "WO2,30,焊接,M3,\n"          # machine of another line
            "WO2,40,包装,M1,0\n"         # planned quantity not positive
            "WO2,50,包装,M1,-5\n"
            "WO2,0,检验,,\n"             # seq not positive
            "WO2,,检验,,\n"
            "WO1,10,下料,M1,\n")          # another order may reuse seq 10
    summary = await run(session_factory, "operations", write(tmp_path, "ops.csv", text))
    assert summary.aborted and summary.rows_loaded == 0
    assert summary.rejected == [
        (3, "duplicate seq of the work order (same as row 2)"),
        (4, "work_order: unknown work order WO9"),
        (5, "machine: unknown machine M7"),
        (6, "machine: M3 is on line L2, not on the work order's line L1"),
        (7, "planned_quantity: must be a whole number > 0"),
        (8, "planned_quantity: must be a whole number > 0"),
        (9, "seq: must be a whole number > 0"),
        (10, "seq: missing"),
    ]
    assert (summary.rows_read, summary.rows_rejected, summary.rows_held_back) == (10, 8, 2)
    assert await routing(session_factory) == []


async def test_order_columns_must_agree_on_every_operation_row(session_factory, tmp_path: Path) -> None:
    await run(session_factory, "machines", write(tmp_path, "m.csv", MACHINES))
    text = ("work_order,material,quantity,due,seq,operation,machine\n"
            "R1,MAT-A,500,2026-01-06,10,下料,M1\n"
            "R1,MAT-A,500,2026-01-06,20,冲压,M2\n"
            "R1,MAT-A,600,2026-01-08,30,检验,M2\n"
            "R2,MAT-B,80,2026-01-07,10,焊接,M3\n"
            "R3,MAT-B,40,2026-01-07,,,\n"
            "R3,MAT-B,40,2026-01-07,,,\n")  # an order without operations, twice
    # chunks of two rows: the order's first row and the differing one are read in different chunks
    summary = await run(session_factory, "work-orders", write(tmp_path, "wo.csv", text), chunk_rows=2)
    assert summary.aborted and summary.rejected == [(4, "work_order: R1 differs from row 2 in quantity, due"),
                                                    (7, "duplicate work_order (same as row 6)")]
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(WorkOrder)) == 0


async def test_changed_operation_is_updated_until_it_has_reports(session_factory, tmp_path: Path) -> None:
    await seed_masters(session_factory, tmp_path)
    first = "work_order,seq,operation,machine,planned_quantity\nWO1,10,冲压,M1,\nWO1,20,检验,,\n"
    assert (await run(session_factory, "operations", write(tmp_path, "a.csv", first))).ok
    changed = "work_order,seq,operation,machine,planned_quantity\nWO1,10,冲压,M2,19000\nWO1,20,检验,,\n"
    summary = await run(session_factory, "operations", write(tmp_path, "b.csv", changed))
    assert summary.ok and (summary.rows_loaded, summary.rows_updated, summary.rows_rejected) == (1, 1, 1)
    assert await routing(session_factory) == [("WO1", 10, "冲压", "M2", 19000), ("WO1", 20, "检验", None, 20000)]
    reports = "reported_at,user,work_order,operation,machine,good,scrap\n2026-01-05 12:00,op1,WO1,10,M2,5,0\n"
    assert (await run(session_factory, "reports", write(tmp_path, "r.csv", reports))).ok
    refused = await run(session_factory, "operations", write(tmp_path, "a.csv", first))
    assert refused.aborted and refused.rows_loaded == 0
    assert refused.rejected == [(2, "operation: seq 10 of WO1 already has reports and cannot change "
                                    "(machine M2 -> M1, planned_quantity 19000 -> 20000)"),
                                (3, "operation already in the database")]
    assert await routing(session_factory) == [("WO1", 10, "冲压", "M2", 19000), ("WO1", 20, "检验", None, 20000)]


async def test_reports_import_books_onto_the_imported_routing(session_factory, tmp_path: Path) -> None:
    await run(session_factory, "machines", write(tmp_path, "m.csv", MACHINES))
    await run(session_factory, "users", write(tmp_path, "u.csv", USERS))
    assert (await run(session_factory, "work-orders", write(tmp_path, "wo.csv", ROUTED))).ok
    text = ("reported_at,user,work_order,operation,machine,good,scrap\n"
            "2026-01-05 12:00,op1,R1,20,M2,1,0\n"       # by seq
            "2026-01-05 12:01,op1,R1,检验,M2,2,0\n"     # by name
            "2026-01-05 12:02,op1,R1,,M1,3,0\n"         # by machine: seq 10 runs on M1
            "2026-01-05 12:03,op1,R1,,M2,4,0\n")
    summary = await run(session_factory, "reports", write(tmp_path, "r.csv", text))
    assert summary.ok and summary.rows_loaded == 4, summary.rejected
    async with session_factory() as session:
        booked = (await session.execute(select(WorkReport.good, Operation.seq)
                                        .join(Operation, Operation.id == WorkReport.operation_id)
                                        .order_by(WorkReport.good))).all()
    assert booked == [(1, 20), (2, 30), (3, 10), (4, 20)]
    assert await routing(session_factory) == EXPECTED  # no operation made up from the reports
    unknown = ("reported_at,user,work_order,operation,machine,good,scrap\n2026-01-05 13:00,op1,R1,40,M1,1,0\n")
    refused = await run(session_factory, "reports", write(tmp_path, "r2.csv", unknown))
    assert refused.aborted and refused.rejected == [(2, "operation: unknown for this work order")]


async def test_xlsx_work_orders_with_operations(session_factory, tmp_path: Path) -> None:
    await run(session_factory, "machines", write(tmp_path, "m.csv", MACHINES))
    path = tmp_path / "wo.xlsx"
    pd.DataFrame({"Work_Order": ["X1", "X1"], "Material": ["MAT"] * 2, "Quantity": [300, 300],
                  "Due": [pd.Timestamp("2026-01-06 20:00")] * 2, "Seq": [10, 20], "Operation": ["下料", "冲压"],
                  "Machine": ["M1", "M2"], "Planned_Quantity": [None, 290.0]}).to_excel(path, index=False)
    summary = await run(session_factory, "work-orders", path)
    assert summary.ok and summary.rows_loaded == 2 and summary.encoding == "XLSX", summary.rejected
    assert await routing(session_factory) == [("X1", 10, "下料", "M1", 300), ("X1", 20, "冲压", "M2", 290)]


async def test_operation_columns_without_seq_refuse_the_file(session_factory, tmp_path: Path) -> None:
    text = "work_order,material,quantity,due,operation\nR1,MAT,1,2026-01-06,下料\n"
    with pytest.raises(ImportFileError, match="no seq column"):
        await run(session_factory, "work-orders", write(tmp_path, "wo.csv", text))
    with pytest.raises(ImportFileError, match="missing column"):
        await run(session_factory, "operations", write(tmp_path, "ops.csv", "work_order,seq\nR1,10\n"))


async def test_plain_work_orders_file_with_a_machine_column_is_read_as_before(session_factory,
                                                                             tmp_path: Path) -> None:
    """A machine column alone was always an ignored extra column: such files keep loading orders only."""
    text = "work_order,material,quantity,due,machine\nR1,MAT,1,2026-01-06,M1\nR2,MAT,1,2026-01-06,M1\n"
    summary = await run(session_factory, "work-orders", write(tmp_path, "wo.csv", text))
    assert summary.ok and summary.rows_loaded == 2
    assert await routing(session_factory) == []


async def test_operations_file_over_the_size_cap_is_refused(session_factory, tmp_path: Path) -> None:
    path = write(tmp_path, "ops.csv", "work_order,seq,operation\n" + "WO1,10,下料\n" * 100)
    with pytest.raises(ImportFileError, match="over the import limit"):
        await run(session_factory, "operations", path, max_bytes=1024)
