"""Machines, users and work orders: typed rows in, every bad row named, all or nothing."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from bot.imports import ImportFileError
from bot.models import Line, Machine, User, WorkOrder
from tests.bot.imports.support import MACHINES, run, seed_masters, write

pytestmark = pytest.mark.db


async def test_machines_create_lines_and_reimport_skips(session_factory, tmp_path: Path) -> None:
    path = write(tmp_path, "m.csv", MACHINES)
    first = await run(session_factory, "machines", path)
    assert (first.rows_read, first.rows_loaded, first.rows_rejected) == (3, 3, 0)
    again = await run(session_factory, "machines", path)
    assert again.ok and again.rows_loaded == 0 and again.rows_rejected == 3
    assert again.rejected[0] == (2, "machine already in the database")
    async with session_factory() as session:
        assert sorted((await session.scalars(select(Line.code))).all()) == ["L1", "L2"]
        m2 = await session.scalar(select(Machine).where(Machine.code == "M2"))
        assert m2.ideal_cycle_time_s == 2.5 and m2.name == "冲压机2"


async def test_bad_rows_are_listed_and_nothing_loads(session_factory, tmp_path: Path) -> None:
    text = ("machine,name,line,ideal_cycle_time_s\nM1,a,L1,1\nM1,b,L1,1\nM2,c,L1,zero\nM3,d,L1,-2\n"
            "M4,,L1,1\nM5,e,L1,0.5\n")
    summary = await run(session_factory, "machines", write(tmp_path, "m.csv", text))
    assert summary.aborted and summary.rows_loaded == 0
    assert summary.rejected == [
        (3, "duplicate machine (same as row 2)"),
        (4, "ideal_cycle_time_s: must be a number > 0"),
        (5, "ideal_cycle_time_s: must be a number > 0"),
        (6, "name: missing"),
    ]
    assert (summary.rows_rejected, summary.rows_held_back) == (4, 2)
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Machine)) == 0


async def test_dry_run_checks_but_writes_nothing(session_factory, tmp_path: Path) -> None:
    summary = await run(session_factory, "machines", write(tmp_path, "m.csv", MACHINES), dry_run=True)
    assert summary.ok and summary.rows_loaded == 0 and summary.rows_held_back == 3
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Machine)) == 0


async def test_users_roles_and_lines(session_factory, tmp_path: Path) -> None:
    await seed_masters(session_factory, tmp_path)
    async with session_factory() as session:
        lead = await session.scalar(select(User).where(User.wecom_userid == "lead1"))
        line = await session.scalar(select(Line).where(Line.code == "L1"))
        assert lead.roles == ["team_lead", "operator"] and lead.line_id == line.id
    bad = await run(session_factory, "users", write(tmp_path, "u2.csv",
                                                    "userid,name,roles,line\nx,某人,chef,L9\ny,某人,,\n"))
    assert bad.aborted
    assert bad.rejected[0][1].startswith("roles: unknown role(s) chef")
    assert "line: unknown line L9" in bad.rejected[0][1]
    assert bad.rejected[1] == (3, "roles: missing")


async def test_work_orders_times_and_status(session_factory, tmp_path: Path) -> None:
    await seed_masters(session_factory, tmp_path)
    async with session_factory() as session:
        wo1 = await session.scalar(select(WorkOrder).where(WorkOrder.code == "WO1"))
        wo2 = await session.scalar(select(WorkOrder).where(WorkOrder.code == "WO2"))
    assert wo1.due_at == datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
    assert wo1.completed_at == datetime(2026, 1, 5, 8, 30, tzinfo=UTC) and wo1.status == "closed"
    # a date alone is due by the end of that plant-local day
    assert wo2.due_at == datetime(2026, 1, 6, 15, 59, 59, 999999, tzinfo=UTC) and wo2.status == "released"


async def test_explicit_offsets_are_kept(session_factory, tmp_path: Path) -> None:
    await run(session_factory, "machines", write(tmp_path, "m.csv", MACHINES))
    text = ("work_order,material,quantity,due\nA,X,1,2026-01-05T08:00:00Z\nB,X,1,2026-01-05T08:00+02:00\n"
            "C,X,1,2026-01-05 08:00\n")
    assert (await run(session_factory, "work-orders", write(tmp_path, "wo.csv", text))).ok
    async with session_factory() as session:
        due = dict((await session.execute(select(WorkOrder.code, WorkOrder.due_at))).all())
    assert due["A"] == datetime(2026, 1, 5, 8, tzinfo=UTC)
    assert due["B"] == datetime(2026, 1, 5, 6, tzinfo=UTC)
    assert due["C"] == datetime(2026, 1, 5, 0, tzinfo=UTC)


async def test_xlsx_with_real_datetimes(session_factory, tmp_path: Path) -> None:
    path = tmp_path / "m.xlsx"
    pd.DataFrame({"Machine": ["X1"], "Name": ["机"], "Line": ["L1"], "ideal_cycle_time_s": [1.5]}).to_excel(
        path, index=False)
    assert (await run(session_factory, "machines", path)).rows_loaded == 1
    orders = tmp_path / "wo.xlsx"
    pd.DataFrame({"work_order": ["W"], "material": ["X"], "quantity": [5],
                  "due": [datetime(2026, 1, 5, 20, 0)]}).to_excel(orders, index=False)
    assert (await run(session_factory, "work-orders", orders)).rows_loaded == 1
    async with session_factory() as session:
        assert await session.scalar(select(WorkOrder.due_at)) == datetime(2026, 1, 5, 12, tzinfo=UTC)


async def test_missing_columns_refuse_the_file(session_factory, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="missing column"):
        await run(session_factory, "machines", write(tmp_path, "m.csv", "machine,name\nM1,x\n"))
