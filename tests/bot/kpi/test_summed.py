"""A whole-window load with the database's sums (bot/kpi/summed.py) gives the engine's figures exactly: against
the raw frames in memory (random plants) and against `load_frames` on a database seeded with the awkward cases
(intervals across both window edges, an open one, an empty one, adjacent downs making one event, microseconds,
reports attributed through their operation, rejected and out-of-window reports)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from bot.kpi import compute_kpis
from bot.kpi.data import load_frames
from bot.kpi.inputs import KpiInputError
from bot.kpi.service import kpis_from_db
from bot.kpi.summed import by_source, load_window, reporters, scrap_pieces
from bot.models import Line, Machine, Operation, User, WorkOrder
from bot.models.equipment import DowntimeAlert, MachineState
from bot.models.reports import ReportChange, WorkReport
from bot.review import activity, paretos
from tests.bot.imports.support import seed_masters
from tests.bot.kpi.test_kpi_reference import T0 as RANDOM_T0
from tests.bot.kpi.test_kpi_reference import random_plant
from tests.conftest import make_settings

T0 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
WINDOW = (T0, T0 + timedelta(hours=6))
NOW = T0 + timedelta(hours=5, minutes=30)


def split(states: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the database does: down and empty intervals stay rows, the others become clipped sums."""
    keep = (states["state"] == "down") | (states["end"] <= states["start"])
    summed = states[~keep]
    seconds = ((summed["end"].clip(upper=end) - summed["start"].clip(lower=start)).dt.total_seconds()
               .clip(lower=0))
    state_time = (pd.DataFrame({"machine": summed["machine"], "state": summed["state"], "seconds": seconds})
                  .groupby(["machine", "state"], as_index=False)["seconds"].sum())
    return states[keep], state_time


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("by", ["machine", "line", "plant"])
@pytest.mark.parametrize("threshold", [0, 300])
def test_summed_time_gives_the_engines_figures(seed: int, by: str, threshold: float) -> None:
    states, reports, machines, orders, alerts = random_plant(seed)
    reports = reports.drop(columns=["first_pass_good"])  # the database loaders never give it
    start, end = RANDOM_T0, RANDOM_T0 + pd.Timedelta(days=2)
    options = dict(start=start, end=end, by=by, micro_stop_threshold_s=threshold)
    expected = compute_kpis(states, reports, machines, orders, alerts, **options)
    rows, state_time = split(states, start, end)
    inside = reports[(reports["reported_at"] >= start) & (reports["reported_at"] < end)]
    grouped = inside.groupby(["machine", "work_order"], as_index=False).agg(
        reported_at=("reported_at", "min"), good=("good", "sum"), scrap=("scrap", "sum"))
    actual = compute_kpis(rows, grouped, machines, orders, alerts, state_time=state_time, **options)
    assert len(rows) < len(states) / 2 and expected["down_events"].sum() > 0
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False, rtol=1e-12)


def test_summed_time_needs_one_period_and_no_down_time() -> None:
    states, reports, machines, orders, alerts = random_plant(0)
    rows, state_time = split(states, RANDOM_T0, RANDOM_T0 + pd.Timedelta(days=1))
    with pytest.raises(KpiInputError, match="every=None"):
        compute_kpis(rows, reports, machines, state_time=state_time, start=RANDOM_T0,
                     end=RANDOM_T0 + pd.Timedelta(days=1), every="day")
    down = pd.DataFrame({"machine": ["m0"], "state": ["down"], "seconds": [5.0]})
    with pytest.raises(KpiInputError, match="down"):
        compute_kpis(rows, reports, machines, state_time=down, start=RANDOM_T0, end=RANDOM_T0 + pd.Timedelta(days=1))
    negative = state_time.assign(seconds=-1.0)
    with pytest.raises(KpiInputError, match="state_time.seconds"):
        compute_kpis(rows, reports, machines, state_time=negative, start=RANDOM_T0,
                     end=RANDOM_T0 + pd.Timedelta(days=1))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


STATES = [  # machine, state, start (minutes after T0), end (None: open), reason
    ("M1", "running", -60, 60.0123456, None),  # across the window's start, with microseconds
    ("M1", "down", 60.0123456, 60.85, "JAM"),  # 50 s and then 100 s back to back: one 150 s event
    ("M1", "down", 60.85, 62.5, "TOOL"),
    ("M1", "idle", 62.5, 120, None),
    ("M1", "down", 120, 121, None),  # 60 s alone: a micro-stop at 120 s
    ("M1", "idle", 121, 121, None),  # empty (then a gap: an empty interval tied with the next one's start
    ("M1", "setup", 122, 123.0576131, None),  # would be an overlap or not by the order the rows come in)
    ("M1", "unknown", 240, 270, None),
    ("M1", "running", 300, None, None),  # open: ends now
    ("M2", "down", -10, 5, "JAM"),  # across the start: 5 of 15 minutes inside
    ("M2", "running", 5, 300, None),
    ("M2", "planned_stop", 300, 420, None),  # across the end
    ("M3", "running", -600, -300, None),  # before the window
]


async def seed(sessions) -> None:
    async with sessions.begin() as session:
        ids = dict((await session.execute(select(Machine.code, Machine.id))).tuples().all())
        users = dict((await session.execute(select(User.wecom_userid, User.id))).tuples().all())
        for machine, state, start, end, reason in STATES:
            session.add(MachineState(machine_id=ids[machine], state=state, start_at=at(start),
                                     end_at=None if end is None else at(end), reason_code=reason, source="opcua"))
        order = await session.scalar(select(WorkOrder).where(WorkOrder.code == "WO1"))
        ops = {code: Operation(work_order_id=order.id, seq=seq, name="加工", machine_id=ids[code],
                               planned_quantity=100) for seq, code in ((10, "M1"), (20, "M2"))}
        session.add_all(ops.values())
        await session.flush()
        reports = [  # machine on the report (None: the operation's), op, who, good, scrap, reason, source, status, at
            ("M1", "M1", "op1", 100, 5, "DIM", "h5", "confirmed", 30),
            (None, "M2", "op1", 40, 0, "DIM", "chat", "confirmed", 40),  # a reason without scrap: no bar
            (None, "M2", "lead1", 10, 2, None, "chat", "confirmed", 50),
            ("M2", "M1", "lead1", 7, 1, "LOOK", "import", "confirmed", 60),  # machine M2 on an M1 operation
            ("M1", "M1", "op1", 999, 9, "DIM", "h5", "rejected", 70),
            ("M1", "M1", "op1", 888, 8, "DIM", "h5", "confirmed", 400),  # after the window
        ]
        for n, (machine, op, who, good, scrap, reason, source, status, minute) in enumerate(reports):
            row = WorkReport(operation_id=ops[op].id, work_order_id=order.id,
                             machine_id=ids[machine] if machine else None, user_id=users[who], good=good,
                             scrap=scrap, reason_code=reason, shift_day=T0.date(), shift_code="D", source=source,
                             status=status, idempotency_key=f"s{n}", created_at=at(minute))
            session.add(row)
            await session.flush()
            if n in (0, 4):
                session.add(ReportChange(report_id=row.id, kind="correction", status="applied",
                                         requested_by=users["lead1"], requested_at=at(minute + 1)))
        down = await session.scalar(select(MachineState).where(MachineState.reason_code == "TOOL"))
        session.add(DowntimeAlert(machine_id=ids["M1"], state_id=down.id, down_start=at(60.0123456),
                                  acknowledged_at=at(61), fixed_at=at(65), task_id="t1"))


def raw_kpis(frames, by: str) -> pd.DataFrame:
    return compute_kpis(frames.states, frames.reports, frames.machines, frames.work_orders, frames.alerts,
                        frames.counts, start=WINDOW[0], end=WINDOW[1], by=by, micro_stop_threshold_s=120)


@pytest.mark.db
@pytest.mark.parametrize("by", ["machine", "line", "plant"])
async def test_database_sums_equal_the_raw_load(session_factory, db_url: str, tmp_path: Path, by: str) -> None:
    await seed_masters(session_factory, tmp_path)
    await seed(session_factory)
    settings = make_settings(db_url, kpi={"micro_stop_threshold_s": 120})
    async with session_factory() as session:
        expected = raw_kpis(await load_frames(session, *WINDOW, NOW), by)
        summed = await kpis_from_db(session, settings, start=WINDOW[0], end=WINDOW[1], by=by, now=NOW)
    pd.testing.assert_frame_equal(summed, expected, check_dtype=False, rtol=1e-12)
    if by == "machine":
        m1 = summed.set_index("machine").loc["M1"]
        assert m1["down_events"] == 1 and m1["micro_stops"] == 1  # 50 s + 100 s back to back is one event
        assert m1["setup_s"] == pytest.approx(123.0576131 * 60 - 122 * 60, abs=1e-6)  # microseconds kept
        assert m1["run_s"] == pytest.approx(60.0123456 * 60 + 60 + 30 * 60, abs=1e-6)  # open: until now
        assert (m1["good"], m1["scrap"]) == (100, 5)
        m2 = summed.set_index("machine").loc["M2"]
        assert m2["down_s"] == 300 and m2["planned_stop_s"] == 60 * 60
        assert (m2["good"], m2["scrap"]) == (57, 3)


@pytest.mark.db
async def test_inside_a_transaction_the_sessions_own_rows_count(session_factory, db_url: str,
                                                                tmp_path: Path) -> None:
    """On a SQLite file the big reads go to other connections unless the session holds writes of its own; then
    they stay on its connection, which sees them."""
    await seed_masters(session_factory, tmp_path)
    await seed(session_factory)
    async with session_factory() as session:
        before = (await load_window(session, *WINDOW, NOW)).frames.state_time
        m3 = await session.scalar(select(Machine.id).where(Machine.code == "M3"))
        session.add(MachineState(machine_id=m3, state="running", start_at=at(10), end_at=at(70), source="opcua"))
        await session.flush()
        after = (await load_window(session, *WINDOW, NOW)).frames.state_time
        await session.rollback()
    assert "M3" not in set(before["machine"])
    assert after.set_index(["machine", "state"]).loc[("M3", "running"), "seconds"] == 3600


@pytest.mark.db
@pytest.mark.parametrize("line", [None, "L1", "L2"])
async def test_grouped_reports_give_the_reviews_sql_figures(session_factory, db_url: str, tmp_path: Path,
                                                            line: str | None) -> None:
    await seed_masters(session_factory, tmp_path)
    await seed(session_factory)
    async with session_factory() as session:
        loaded = await load_window(session, *WINDOW, NOW)
        machines = loaded.frames.machines
        facts = loaded.facts if line is None else loaded.facts.on_machines(
            machines.loc[machines["line"] == line, "machine"])
        line_id = None if line is None else await session.scalar(select(Line.id).where(Line.code == line))
        fast = await activity.adoption(session, *WINDOW, line_id=line_id, facts=facts)
        slow = await activity.adoption(session, *WINDOW, line_id=line_id)
        sql_scrap = await paretos.scrap_pieces(session, *WINDOW, line_id=line_id)
    assert (fast.by_source, fast.active_by_role, fast.corrections, fast.rejections) == (
        slow.by_source, slow.active_by_role, slow.corrections, slow.rejections)
    assert scrap_pieces(facts) == sql_scrap
    if line is None:
        assert by_source(facts) == {"h5": 1, "chat": 2, "import": 1}
        assert scrap_pieces(facts) == {"DIM": 5.0, "": 2.0, "LOOK": 1.0}  # DIM without scrap adds nothing
        assert len(reporters(facts)) == 2 and fast.corrections == 1  # the rejected report's change is not counted
    if line == "L2":
        assert facts.groups.empty and facts.members.empty and fast.reports == 0


def test_no_rows_are_no_figures() -> None:
    empty = pd.DataFrame({"machine": pd.Series(dtype=object), "state": pd.Series(dtype=object),
                          "seconds": pd.Series(dtype=np.float64)})
    machines = pd.DataFrame({"machine": ["m0"], "line": ["L1"], "ideal_cycle_time_s": [1.0]})
    table = compute_kpis(None, None, machines, state_time=empty, start=RANDOM_T0,
                         end=RANDOM_T0 + pd.Timedelta(hours=1), by="plant")
    assert table["planned_s"].iloc[0] == 0 and np.isnan(table["oee"].iloc[0])
