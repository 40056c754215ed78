"""Loading the engine's frames from the database: what counts, what does not, open intervals."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.kpi.data import load_frames
from bot.kpi.service import kpis_from_db
from bot.models import Machine, Operation, User, WorkOrder
from bot.models.equipment import DowntimeAlert, MachineState
from bot.models.reports import WorkReport
from tests.bot.imports.support import run, seed_masters, write
from tests.conftest import make_settings

pytestmark = pytest.mark.db
T0 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai


async def _seed(session_factory, tmp_path: Path) -> None:
    await seed_masters(session_factory, tmp_path)
    states = ("machine,state,start,end\nM1,running,2026-01-05 08:00,2026-01-05 09:00\n"
              "M1,down,2026-01-05 09:00,2026-01-05 09:30\nM2,running,2026-01-05 07:00,2026-01-05 09:00\n")
    assert (await run(session_factory, "machine-states", write(tmp_path, "s.csv", states))).ok
    reports = ("reported_at,user,work_order,operation,machine,good,scrap\n"
               "2026-01-05 08:30,op1,WO1,,M1,100,5\n2026-01-05 08:40,op1,WO1,,M2,40,0\n"
               "2026-01-05 07:59,op1,WO1,,M1,999,0\n")
    assert (await run(session_factory, "reports", write(tmp_path, "r.csv", reports))).ok


async def test_frames_and_open_intervals(session_factory, tmp_path: Path) -> None:
    await _seed(session_factory, tmp_path)
    async with session_factory.begin() as session:
        m1 = await session.scalar(select(Machine).where(Machine.code == "M1"))
        session.add(MachineState(machine_id=m1.id, state="running", start_at=T0 + timedelta(minutes=90),
                                 end_at=None, source="opcua"))
        report = await session.scalar(select(WorkReport).where(WorkReport.good == 100))
        undone = WorkReport(operation_id=report.operation_id, work_order_id=report.work_order_id,
                            machine_id=None, user_id=report.user_id, good=7, scrap=0, shift_day=report.shift_day,
                            shift_code="D", source="chat", status="undone", idempotency_key="u1",
                            created_at=T0 + timedelta(minutes=10))
        session.add(undone)
        session.add(WorkReport(operation_id=report.operation_id, work_order_id=report.work_order_id,
                               machine_id=None, user_id=report.user_id, good=3, scrap=1,
                               shift_day=report.shift_day, shift_code="D", source="chat", status="confirmed",
                               idempotency_key="c1", created_at=T0 + timedelta(minutes=20)))
        state = await session.scalar(select(MachineState).where(MachineState.state == "down"))
        session.add(DowntimeAlert(machine_id=m1.id, state_id=state.id, down_start=state.start_at,
                                  acknowledged_at=state.start_at + timedelta(minutes=5),
                                  fixed_at=state.start_at + timedelta(minutes=25), task_id="t1"))
    now = T0 + timedelta(hours=2)
    async with session_factory() as session:
        frames = await load_frames(session, T0, T0 + timedelta(hours=4), now)
        settings = make_settings("sqlite+aiosqlite://")
        table = await kpis_from_db(session, settings, start=T0, end=T0 + timedelta(hours=4), by="machine",
                                   now=now)
    assert sorted(frames.machines["machine"]) == ["M1", "M2", "M3"]
    open_row = frames.states[frames.states["start"] == T0 + timedelta(minutes=90)]
    assert open_row["end"].iloc[0] == now  # an open interval ends now: later time is unknown
    # undone and out-of-window reports are left out; a report without machine_id takes its operation's
    assert sorted(frames.reports["good"]) == [3, 40, 100]
    assert set(frames.reports["machine"]) == {"M1", "M2"}
    assert frames.work_orders.empty  # WO1 is due at 20:00, WO2 on the 6th
    async with session_factory() as session:
        longer = await load_frames(session, T0, T0 + timedelta(hours=13), now)
    assert list(longer.work_orders["work_order"]) == ["WO1"]
    m1 = table.set_index("machine").loc["M1"]
    assert m1["run_s"] == 3600 + 1800 and m1["down_s"] == 1800 and m1["unknown_s"] == 2 * 3600
    assert (m1["good"], m1["scrap"]) == (103, 6)
    assert m1["mttr_response_s"] == 300 and m1["mttr_repair_s"] == 1500
    m2 = table.set_index("machine").loc["M2"]
    assert m2["run_s"] == 3600 and m2["performance"] == pytest.approx(40 * 2.5 / 3600)


async def test_empty_database_gives_nan_not_errors(session_factory) -> None:
    async with session_factory() as session:
        table = await kpis_from_db(session, make_settings("sqlite+aiosqlite://"), start=T0,
                                   end=T0 + timedelta(days=1), by="plant", every="shift", now=T0)
    assert list(table["shift"]) == ["D", "N"]
    assert table["oee"].isna().all()


async def test_users_and_orders_exist(session_factory, tmp_path: Path) -> None:
    await seed_masters(session_factory, tmp_path)
    async with session_factory() as session:
        assert (await session.scalar(select(User.name).where(User.wecom_userid == "op1"))) == "张三"
        assert (await session.scalar(select(WorkOrder.quantity).where(WorkOrder.code == "WO1"))) == 20000
        assert (await session.scalar(select(Operation.id))) is None
