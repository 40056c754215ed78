"""Helpers for import tests: write a CSV and run one import against the test database."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import utcnow
from bot.imports import ImportSummary, run_import
from bot.reports.settings import ShiftSettings

SHIFTS = [ShiftSettings("D", "白班", "08:00", "20:00"), ShiftSettings("N", "夜班", "20:00", "08:00")]
MACHINES = "machine,name,line,ideal_cycle_time_s\nM1,冲压机1,L1,1.0\nM2,冲压机2,L1,2.5\nM3,焊机,L2,4\n"
USERS = "userid,name,roles,line\nop1,张三,operator,L1\nlead1,李四,team_lead;operator,L1\nboss,王五,manager,\n"
ORDERS = ("work_order,material,quantity,due,released,completed\n"
          "WO1,MAT-A,20000,2026-01-05 20:00,2026-01-05 07:00,2026-01-05 16:30\n"
          "WO2,MAT-B,100,2026-01-06,,\n")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


async def run(sessions: async_sessionmaker[AsyncSession], kind: str, path: Path,
              dry_run: bool = False, **options: int) -> ImportSummary:
    """`options`: max_bytes, chunk_rows."""
    summary = await run_import(sessions, kind, path, tz="Asia/Shanghai", shifts=SHIFTS, plant_name="测试工厂",
                               now=utcnow(), dry_run=dry_run, **options)
    assert summary.rows_read == summary.rows_loaded + summary.rows_rejected + summary.rows_held_back
    return summary


async def seed_masters(sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    for kind, name, text in (("machines", "m.csv", MACHINES), ("users", "u.csv", USERS),
                             ("work-orders", "wo.csv", ORDERS)):
        summary = await run(sessions, kind, write(tmp_path, name, text))
        assert summary.ok and summary.rows_loaded == summary.rows_read, summary.rejected
