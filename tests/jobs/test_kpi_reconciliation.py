"""The reconciliation job through the real outbox and sandbox: one card per line and shift to the team leads,
naming the gap; the shift card's OEE comes from the counters; nothing for machines that only report."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.models import Line, OutboxMessage
from jobs import JOBS, kpi_reconciliation, kpi_shift_summary
from tests.bot.imports.support import MACHINES, run, write
from tests.bot.kpi.counter_support import add_counts, equipment
from tests.conftest import Stack

pytestmark = pytest.mark.db
AFTER_DAY_SHIFT = datetime(2026, 1, 5, 12, 10, tzinfo=UTC)  # 20:10 in Shanghai, the 5th
ORDERS = "work_order,material,quantity,due\nWO1,MAT-A,2000,2026-01-06 12:00\n"
STATES = "machine,state,start,end\nM1,running,2026-01-05 08:00,2026-01-05 20:00\n"
REPORTS = ("reported_at,user,work_order,operation,machine,good,scrap\n"
           "2026-01-05 12:00,op1,WO1,,M1,500,0\n2026-01-05 19:00,op1,WO1,,M1,400,0\n")


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return lambda: AFTER_DAY_SHIFT


@pytest.fixture
def stack_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    output = getattr(request, "param", "both")
    return {"equipment": equipment({"M1": output}), "jobs": {"equipment_poll": {"enabled": False}}}


async def seed(stack: Stack, tmp_path: Path) -> None:
    sessions = stack.services.sessions
    assert (await run(sessions, "machines", write(tmp_path, "m.csv", MACHINES))).ok
    async with sessions() as session:
        lines = dict((await session.execute(select(Line.code, Line.id))).all())
    await stack.add_user("op1", "张三", ["operator"], line_id=lines["L1"])
    await stack.add_user("lead1", "李四", ["team_lead"], line_id=lines["L1"])
    await stack.add_user("lead2", "赵六", ["team_lead"], line_id=lines["L2"])
    for kind, name, text in (("work-orders", "wo.csv", ORDERS), ("machine-states", "s.csv", STATES),
                             ("reports", "r.csv", REPORTS)):
        summary = await run(sessions, kind, write(tmp_path, name, text))
        assert summary.ok and summary.rows_loaded == summary.rows_read, summary.rejected
    await add_counts(sessions, "M1", [(0, 4, 400, 0), (4, 11.95, 600, 0)])  # 1,000 counted in the day shift


async def cards(stack: Stack) -> list[OutboxMessage]:
    async with stack.services.sessions() as session:
        return list((await session.scalars(select(OutboxMessage).where(
            OutboxMessage.idempotency_key.like("kpi-reconcile:%")))).all())


def test_job_is_registered() -> None:
    assert "kpi_reconciliation" in {job.name for job in JOBS}


async def test_reconciliation_card_names_the_gap_once(stack: Stack, tmp_path: Path) -> None:
    await seed(stack, tmp_path)
    await kpi_reconciliation.run(stack.services, datetime(2026, 1, 5, 12, 2, tzinfo=UTC))  # inside the delay
    assert await cards(stack) == []
    await kpi_reconciliation.run(stack.services, AFTER_DAY_SHIFT)
    card = await stack.sandbox.wait_for_message(
        lambda m: m.msgtype == "template_card" and m.payload["source"]["desc"] == "报工与计数核对")
    assert card.touser == ["lead1"]
    body = card.payload
    assert body["main_title"]["title"] == "产线 L1 01-05 白班"
    assert body["emphasis_content"]["title"] == "+100"
    assert body["horizontal_content_list"] == [{"keyname": "M1 WO1", "value": "报工 900，计数 1000，差 +100"}]
    assert "更正" in body["sub_title_text"] and "计数器" not in body["sub_title_text"]  # counted more: report it
    await kpi_reconciliation.run(stack.services, AFTER_DAY_SHIFT)  # the next tick: nothing new
    [row] = await cards(stack)
    assert row.idempotency_key == "kpi-reconcile:L1:2026-01-05:D" and row.priority == 2


async def test_shift_card_oee_comes_from_the_counters(stack: Stack, tmp_path: Path) -> None:
    await seed(stack, tmp_path)
    await kpi_shift_summary.run(stack.services, AFTER_DAY_SHIFT)
    card = await stack.sandbox.wait_for_message(
        lambda m: m.msgtype == "template_card" and m.payload["source"]["desc"] == "班次指标")
    values = {item["keyname"]: item["value"] for item in card.payload["horizontal_content_list"]}
    assert values["良品/报废"] == "1000 / 0"
    assert card.payload["emphasis_content"]["title"] == "2.3%"  # 1,000 parts at 1 s in 12 h running


@pytest.mark.parametrize("stack_overrides", ["reports", "counters"], indirect=True)
async def test_no_card_unless_both_reported_and_counted(stack: Stack, tmp_path: Path) -> None:
    await seed(stack, tmp_path)
    await kpi_reconciliation.run(stack.services, AFTER_DAY_SHIFT)
    assert await cards(stack) == []
