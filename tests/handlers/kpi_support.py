"""A small plant with one day of history around a fixed clock, seeded through the importer."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bot.models import Line
from tests.bot.imports.support import MACHINES, run, write
from tests.conftest import Stack

NOW = datetime(2026, 1, 6, 6, 0, tzinfo=UTC)  # 2026-01-06 14:00 in Shanghai, day shift
ORDERS = "work_order,material,quantity,due,completed\nWO1,MAT-A,2000,2026-01-06 12:00,2026-01-06 11:00\n"
STATES = ("machine,state,start,end\n"
          "M1,running,2026-01-05 08:00,2026-01-05 20:00\n"
          "M1,running,2026-01-06 08:00,2026-01-06 11:00\n"
          "M1,down,2026-01-06 11:00,2026-01-06 13:00\n"
          "M1,running,2026-01-06 13:00,2026-01-06 14:00\n"
          "M3,running,2026-01-06 08:00,2026-01-06 14:00\n")
REPORTS = ("reported_at,user,work_order,operation,machine,good,scrap\n"
           "2026-01-05 19:00,op1,WO1,,M1,30000,0\n"
           "2026-01-06 10:00,op1,WO1,,M1,7000,200\n"
           "2026-01-06 13:30,op1,WO1,,M3,5000,0\n")


async def seed_plant(stack: Stack, tmp_path: Path) -> None:
    sessions = stack.services.sessions
    assert (await run(sessions, "machines", write(tmp_path, "m.csv", MACHINES))).ok
    async with sessions() as session:
        lines = dict((await session.execute(select(Line.code, Line.id))).all())
    await stack.add_user("op1", "张三", ["operator"], line_id=lines["L1"])
    await stack.add_user("lead1", "李四", ["team_lead"], line_id=lines["L1"])
    await stack.add_user("lead2", "赵六", ["team_lead"], line_id=lines["L2"])
    await stack.add_user("boss", "王五", ["manager"])
    for kind, name, text in (("work-orders", "wo.csv", ORDERS), ("machine-states", "s.csv", STATES),
                             ("reports", "r.csv", REPORTS)):
        summary = await run(sessions, kind, write(tmp_path, name, text))
        assert summary.ok and summary.rows_loaded == summary.rows_read, summary.rejected
