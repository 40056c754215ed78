"""A seeded two-month history (October and November 2026, plant time Asia/Shanghai) for the review tests;
the expected figures in the tests are worked out by hand from these rows, not by the code under test."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import Line, Machine, Operation, User, WorkOrder
from bot.models.equipment import DowntimeReason, MachineState
from bot.models.issues import Issue
from bot.models.patrols import PatrolAnswer, PatrolRound
from bot.models.reports import ReportChange, WorkReport
from bot.models.training import TrainingProgress
from tests.bot.imports.support import seed_masters

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 on 1 December in Shanghai
NOVEMBER = date(2026, 11, 1)
CATALOG = """
[[item]]
code = "T1"
title = "安全"
roles = ["operator"]
url = "https://example.com/t1.mp4"
duration = 60
version = 1
"""


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def review_overrides(tmp_path: Path) -> dict[str, dict[str, Any]]:
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(CATALOG, encoding="utf-8")
    return {"review": {"baseline_start": "2026-10-01", "baseline_end": "2026-10-31",
                       "targets": [{"kpi": "oee", "value": 0.65}, {"kpi": "mttr_s", "value": 3000}],
                       "definition_changes": [{"date": "2026-11-01", "kpi": "mttr_s", "text": "维修计时改从报修开始"}]},
            "training": {"catalog": str(catalog), "media_dir": str(tmp_path)}}


async def seed_history(sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    await seed_masters(sessions, tmp_path)  # L1: M1 (1.0 s), M2 (2.5 s); L2: M3 (4 s); op1, lead1 (L1), boss
    async with sessions.begin() as session:
        ids = dict((await session.execute(select(Machine.code, Machine.id))).tuples().all())
        lines = dict((await session.execute(select(Line.code, Line.id))).tuples().all())
        users = dict((await session.execute(select(User.wecom_userid, User.id))).tuples().all())
        session.add_all([DowntimeReason(code="JAM", name_zh="卡料"), DowntimeReason(code="TOOL", name_zh="换刀")])
        _states(session, ids)
        await _orders_and_reports(session, ids, lines, users)
        _issues(session, lines)
        await _patrols(session, lines, users)
        session.add(TrainingProgress(user_id=users["op1"], code="T1", version=1, completed_at=utc(11, 3, 1)))


def _states(session: AsyncSession, ids: dict[str, int]) -> None:
    rows = [
        ("M1", "running", utc(10, 10, 2), utc(10, 10, 12), None),  # October: 10 h run, 2 h down
        ("M1", "down", utc(10, 10, 12), utc(10, 10, 14), "JAM"),
        ("M1", "running", utc(11, 10, 0), utc(11, 10, 8), None),  # November L1: 8 h run, 2 h down in 3 events
        ("M1", "down", utc(11, 10, 8), utc(11, 10, 9), "JAM"),
        ("M1", "down", utc(11, 11, 0), utc(11, 11, 0, 30), "TOOL"),
        ("M1", "down", utc(11, 30, 15, 30), utc(11, 30, 16, 30), "JAM"),  # 23:30-00:30 local: 30 min in Nov
        ("M3", "running", utc(11, 12, 0), utc(11, 12, 10), None),  # November L2: 10 h run, 20 min down
        ("M3", "down", utc(11, 12, 10), utc(11, 12, 10, 20), "JAM"),
    ]
    for machine, state, start, end, reason in rows:
        session.add(MachineState(machine_id=ids[machine], state=state, start_at=start, end_at=end,
                                 reason_code=reason, source="import"))


async def _orders_and_reports(session: AsyncSession, ids: dict[str, int], lines: dict[str, int],
                              users: dict[str, int]) -> None:
    orders = {
        "WO-O1": WorkOrder(code="WO-O1", line_id=lines["L1"], quantity=30000, due_at=utc(10, 20, 0),
                           completed_at=utc(10, 19, 0)),
        "WO-N1": WorkOrder(code="WO-N1", line_id=lines["L1"], quantity=25000, due_at=utc(11, 20, 0),
                           completed_at=utc(11, 19, 0)),
        "WO-N2": WorkOrder(code="WO-N2", line_id=lines["L1"], quantity=1000, due_at=utc(11, 25, 0)),
        "WO-N3": WorkOrder(code="WO-N3", line_id=lines["L2"], quantity=9000, due_at=utc(12, 10, 0)),
    }
    session.add_all(orders.values())
    await session.flush()
    ops = {}
    for code, machine in (("WO-O1", "M1"), ("WO-N1", "M1"), ("WO-N3", "M3")):
        ops[code] = Operation(work_order_id=orders[code].id, seq=10, name="加工", machine_id=ids[machine],
                              planned_quantity=orders[code].quantity)
    session.add_all(ops.values())
    await session.flush()
    reports = [  # (order, user, good, scrap, reason, source, status, at)
        ("WO-O1", "op1", 30000, 600, "DIM", "chat", "confirmed", utc(10, 10, 5)),
        ("WO-N1", "op1", 15000, 300, "DIM", "h5", "confirmed", utc(11, 10, 5)),
        ("WO-N1", "lead1", 5000, 100, "LOOK", "chat", "confirmed", utc(11, 10, 6)),
        ("WO-N1", "op1", 999, 99, "DIM", "chat", "undone", utc(11, 10, 7)),  # undone: counted nowhere
        ("WO-N3", "op1", 8000, 100, "MAT", "import", "confirmed", utc(11, 12, 5)),
    ]
    for n, (order, user, good, scrap, reason, source, status, at) in enumerate(reports):
        row = WorkReport(operation_id=ops[order].id, work_order_id=orders[order].id, machine_id=None,
                         line_id=orders[order].line_id, user_id=users[user], good=good, scrap=scrap,
                         reason_code=reason, shift_day=at.date(), shift_code="D", source=source, status=status,
                         idempotency_key=f"r{n}", created_at=at)
        session.add(row)
        await session.flush()
        if order == "WO-N1" and user == "lead1":
            session.add(ReportChange(report_id=row.id, kind="correction", status="applied",
                                     requested_by=users["lead1"], requested_at=at + timedelta(minutes=5)))


def _issues(session: AsyncSession, lines: dict[str, int]) -> None:
    rows = [  # (line, created, status, closed, due)
        ("L1", utc(11, 5, 2), "closed", utc(11, 20, 2), date(2026, 11, 30)),  # opened and closed in Nov
        ("L1", utc(10, 20, 2), "new", None, date(2026, 11, 15)),  # open and overdue at the end
        ("L1", utc(11, 25, 2), "in_progress", None, date(2026, 12, 5)),  # open, not overdue
        ("L1", utc(11, 10, 2), "closed", utc(12, 1, 1), date(2026, 11, 28)),  # closed after: overdue at end
        ("L2", utc(11, 3, 2), "new", None, None),
    ]
    for n, (line, created, status, closed, due) in enumerate(rows, start=1):
        session.add(Issue(number=f"Q-2026-{n:04d}", year=2026, seq=n, title=f"问题{n}", category="quality",
                          status=status, line_id=lines[line], created_at=created, closed_at=closed, due_on=due))


async def _patrols(session: AsyncSession, lines: dict[str, int], users: dict[str, int]) -> None:
    rows = [  # (line, window start, status, finished, answers, ng)
        ("L1", utc(11, 2, 1), "done", utc(11, 2, 1, 30), 4, 1),  # on time
        ("L1", utc(11, 3, 1), "done", utc(11, 3, 5), 2, 0),  # late
        ("L1", utc(11, 4, 1), "missed", None, 0, 0),
        ("L2", utc(11, 4, 1), "skipped", None, 0, 0),
        ("L1", utc(10, 4, 1), "missed", None, 0, 0),  # October
    ]
    for n, (line, start, status, finished, answers, ng) in enumerate(rows):
        patrol = PatrolRound(checklist_code="C1", version=1, scope_key=f"line:{line}", slot=f"s{n}",
                             line_id=lines[line], assignees=["op1"], window_start=start,
                             due_at=start + timedelta(hours=1), window_end=start + timedelta(hours=2),
                             status=status, finished_at=finished)
        session.add(patrol)
        await session.flush()
        for i in range(answers):
            session.add(PatrolAnswer(round_id=patrol.id, checkpoint="P", item=f"i{i}", ng=i < ng,
                                     answered_by=users["op1"], answered_at=start))


RELAXED = {"min_reports": 2, "min_rounds": 1, "min_issues": 2}  # the seeded month is thin


async def add_extras(sessions) -> dict[str, int]:
    """op1: one late report with scrap but no reason, one on time on the night shift; lead1: one rejected report;
    issue owners: lead1 closed two (360 h, 10 h), boss one (2 h: too few for the minimum of two)."""
    async with sessions.begin() as session:
        users = dict((await session.execute(select(User.wecom_userid, User.id))).tuples().all())
        order = await session.scalar(select(WorkOrder).where(WorkOrder.code == "WO-N1"))
        op = await session.scalar(select(Operation).where(Operation.work_order_id == order.id))
        rows = [("op1", date(2026, 11, 15), "D", utc(11, 15, 13), 5, None, "confirmed"),  # 21:00, shift ended 20:00
                ("op1", date(2026, 11, 15), "N", utc(11, 16, 0, 20), 0, None, "confirmed"),  # 08:20, ended 08:00
                ("lead1", date(2026, 11, 20), "D", utc(11, 20, 3), 0, None, "rejected")]
        for n, (who, day, shift, at, scrap, reason, status) in enumerate(rows):
            session.add(WorkReport(operation_id=op.id, work_order_id=order.id, line_id=order.line_id,
                                   user_id=users[who], good=10, scrap=scrap, reason_code=reason, shift_day=day,
                                   shift_code=shift, source="chat", status=status, idempotency_key=f"x{n}",
                                   created_at=at))
        await session.execute(update(Issue).where(Issue.number == "Q-2026-0001").values(owner_id=users["lead1"]))
        for n, (who, created, hours) in enumerate((("lead1", utc(11, 21, 0), 10), ("boss", utc(11, 22, 0), 2))):
            session.add(Issue(number=f"Q-2026-01{n}", year=2026, seq=100 + n, title="快", category="quality",
                              status="closed", owner_id=users[who], created_at=created,
                              resolved_at=created + timedelta(hours=hours), closed_at=created + timedelta(hours=30)))
    return users
