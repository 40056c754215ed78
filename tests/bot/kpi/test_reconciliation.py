"""Reported vs counted per shift, machine and work order, from the database: KPIs follow the counters, the
reconciliation names the gap, counted parts go to the order being reported, and reports-only plants see nothing new."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.kpi.reconciliation import Row, beyond_tolerance, reconcile_shift
from bot.kpi.service import kpi_settings, kpis_from_db
from bot.kpi.settings import KpiSettings
from tests.bot.imports.support import run, seed_masters, write
from tests.bot.kpi.counter_support import DAY_SHIFT, add_counts, equipment
from tests.conftest import make_settings

pytestmark = pytest.mark.db
END = DAY_SHIFT + timedelta(hours=12)
STATES = ("machine,state,start,end\nM1,running,2026-01-05 08:00,2026-01-05 20:00\n"
          "M2,running,2026-01-05 08:00,2026-01-05 20:00\n")


async def seed(sessions, tmp_path: Path, reports: str) -> None:
    await seed_masters(sessions, tmp_path)
    for kind, name, text in (("machine-states", "s.csv", STATES), ("reports", "r.csv", reports)):
        summary = await run(sessions, kind, write(tmp_path, name, text))
        assert summary.ok and summary.rows_loaded == summary.rows_read, summary.rejected


def day_slot(settings):
    return settings.calendar.shift_at(DAY_SHIFT)


REPORTED_900 = ("reported_at,user,work_order,operation,machine,good,scrap\n"
                "2026-01-05 12:00,op1,WO1,,M1,500,0\n2026-01-05 19:00,op1,WO1,,M1,390,10\n")
COUNTED_1000 = [(0, 1, 300, 0), (1, 4, 200, 0), (4, 11.9, 490, 10)]


async def test_counters_decide_the_kpis_and_the_gap_is_named(session_factory, tmp_path: Path) -> None:
    await seed(session_factory, tmp_path, REPORTED_900)
    await add_counts(session_factory, "M1", COUNTED_1000)
    settings = make_settings("sqlite+aiosqlite://", equipment=equipment({"M1": "both"}))
    async with session_factory() as session:
        table = await kpis_from_db(session, settings, start=DAY_SHIFT, end=END, now=END)
        lines = await reconcile_shift(session, settings, kpi_settings(settings), day_slot(settings))
    m1 = table.set_index("machine").loc["M1"]
    assert (m1["good"], m1["scrap"]) == (990, 10)  # the counters, not the 890 + 10 reported
    assert m1["performance"] == pytest.approx(1000 * 1.0 / 43200)
    [line] = lines
    assert line.code == "L1" and (line.reported, line.counted) == (900, 1000)
    [row] = line.differing
    assert (row.machine, row.work_order, row.reported, row.counted, row.gap) == ("M1", "WO1", 900, 1000, 100)
    assert len(row.report_ids) == 2


async def test_reports_only_plant_keeps_its_figures_and_reconciles_nothing(session_factory,
                                                                           tmp_path: Path) -> None:
    await seed(session_factory, tmp_path, REPORTED_900)
    await add_counts(session_factory, "M1", COUNTED_1000)
    for config in ({}, equipment({"M1": "reports"})):
        settings = make_settings("sqlite+aiosqlite://", equipment=config)
        async with session_factory() as session:
            m1 = (await kpis_from_db(session, settings, start=DAY_SHIFT, end=END, now=END)).set_index(
                "machine").loc["M1"]
            assert (m1["good"], m1["scrap"]) == (890, 10)
            assert await reconcile_shift(session, settings, kpi_settings(settings), day_slot(settings)) == []
    counters_only = make_settings("sqlite+aiosqlite://", equipment=equipment({"M1": "counters"}))
    async with session_factory() as session:
        assert await reconcile_shift(session, counters_only, kpi_settings(counters_only),
                                     day_slot(counters_only)) == []
        m1 = (await kpis_from_db(session, counters_only, start=DAY_SHIFT, end=END, now=END)).set_index(
            "machine").loc["M1"]
    assert m1["good"] == 990


async def test_counted_parts_go_to_the_order_being_reported(session_factory, tmp_path: Path) -> None:
    reports = ("reported_at,user,work_order,operation,machine,good,scrap\n"
               "2026-01-05 10:00,op1,WO1,,M1,100,0\n2026-01-05 15:00,op1,WO2,,M1,60,0\n"
               "2026-01-05 16:00,op1,WO1,,M3,50,0\n")  # M3 counted nothing: its counter needs checking
    await seed(session_factory, tmp_path, reports)
    # hours after 08:00: before the 10:00 report -> WO1; up to 15:00 -> WO2; after the last report -> WO2 too
    await add_counts(session_factory, "M1", [(0, 1.9, 100, 0), (3, 6, 50, 0), (8, 11, 40, 0)])
    await add_counts(session_factory, "M2", [(1, 2, 30, 0)])  # nobody reported on M2: 未分配
    await add_counts(session_factory, "M1", [(11.5, 12.5, 999, 0)])  # midpoint 20:00: the night shift's
    settings = make_settings("sqlite+aiosqlite://", equipment=equipment({"M1": "both", "M2": "both", "M3": "both"}))
    async with session_factory() as session:
        line, other = await reconcile_shift(session, settings, kpi_settings(settings), day_slot(settings))
    rows = {(r.machine, r.work_order): (r.reported, r.counted) for r in line.rows}
    assert rows == {("M1", "WO1"): (100, 100), ("M1", "WO2"): (60, 90), ("M2", None): (0, 30)}
    assert [(r.machine, r.work_order, r.gap) for r in line.differing] == [("M1", "WO2", 30), ("M2", None, 30)]
    assert other.code == "L2" and [(r.machine, r.work_order, r.gap) for r in other.differing] == [("M3", "WO1", -50)]


def test_tolerance_needs_both_the_pieces_and_the_percentage() -> None:
    config = KpiSettings(reconciliation_tolerance_pct=2.0, reconciliation_tolerance_pieces=10)
    assert not beyond_tolerance(config, 990, 1000)  # 10 pieces: within the piece tolerance
    assert not beyond_tolerance(config, 9985, 10000)  # 15 pieces but 0.15 %
    assert beyond_tolerance(config, 900, 1000) and beyond_tolerance(config, 0, 50)
    assert beyond_tolerance(KpiSettings(reconciliation_tolerance_pct=0, reconciliation_tolerance_pieces=0), 1, 2)
    assert Row("M1", None, 5, 3, ()).gap == -2
