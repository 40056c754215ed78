"""The per-shift summary job and the shift calendar it follows."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.context import Services
from bot.models import OutboxMessage, User
from bot.plant_calendar import PlantCalendar, ShiftSettings, default_shifts
from bot.reports.service import ReportService
from bot.reports.settings import ReportsSettings
from bot.templates import Templates
from jobs.report_summary import run
from tests.conftest import make_settings

from .seed import seed

TZ = ZoneInfo("Asia/Shanghai")
CAL = PlantCalendar(TZ, default_shifts())


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ).astimezone(UTC)


def test_three_shift_calendar_and_gaps() -> None:
    shifts = [ShiftSettings("A", "早班", "06:00", "14:00"), ShiftSettings("B", "中班", "14:00", "22:00"),
              ShiftSettings("C", "夜班", "22:00", "06:00")]
    three = PlantCalendar(TZ, shifts)
    assert three.shift_at(local(2026, 11, 3, 13, 59)).code == "A"
    assert three.shift_at(local(2026, 11, 3, 14, 0)).code == "B"
    night = three.shift_at(local(2026, 11, 4, 5, 59))
    assert (night.code, night.day.isoformat()) == ("C", "2026-11-03")
    gap = PlantCalendar(TZ, [ShiftSettings("D", "白班", "08:00", "17:00")])
    overtime = gap.shift_at(local(2026, 11, 3, 19, 0))
    assert (overtime.code, overtime.day.isoformat()) == ("D", "2026-11-03")
    ended = three.ended_between(local(2026, 11, 3, 13, 0), local(2026, 11, 3, 22, 5))
    assert [s.code for s in ended] == ["A", "B"]


@pytest.mark.db
async def test_summary_goes_once_to_the_team_lead_of_each_line_with_reports(db_url, session_factory) -> None:
    seeded = await seed(session_factory)
    settings = make_settings(db_url)
    day = local(2026, 11, 3, 10, 0)
    async with session_factory.begin() as s:
        op1 = await s.scalar(select(User).where(User.wecom_userid == "op1"))
        service = ReportService(s, ReportsSettings(), CAL, day)
        await service.report(op1, seeded.op10, 40, 2, "DIM", source="chat", idempotency_key="a")
        await service.report(op1, seeded.op20, 30, 0, None, source="h5", idempotency_key="b")
        await service.report(op1, seeded.op10, 200, 0, None, source="h5", idempotency_key="over")
        night = ReportService(s, ReportsSettings(), CAL, local(2026, 11, 3, 21, 0))
        await night.report(op1, seeded.op10, 7, 0, None, source="chat", idempotency_key="n")
    services = Services(settings=settings, sessions=session_factory, templates=Templates(TZ),
                        clock=lambda: day)
    await run(services, local(2026, 11, 3, 19, 0))  # the day shift has not ended
    await run(services, local(2026, 11, 3, 20, 3))
    await run(services, local(2026, 11, 3, 20, 8))  # a later run, or a second replica: nothing new
    async with session_factory() as s:
        rows = (await s.scalars(select(OutboxMessage))).all()
    summaries = [r for r in rows if (r.idempotency_key or "").startswith("reports:summary")]
    assert len(summaries) == 1 and summaries[0].target["touser"] == ["lead1"]
    text = summaries[0].payload["content"]
    assert "一号线 11-03 白班" in text and "良品 70，报废 2" in text and "尺寸超差 2" in text
    assert "WO-001 工序10：良品 40，报废 2" in text and "1 条超量报工待您审批" in text
    assert "共 2 条" in text  # the night shift (7 good) is summarised after it ends
    await run(services, local(2026, 11, 4, 8, 1) + timedelta(minutes=1))
    async with session_factory() as s:
        keys = sorted(r.idempotency_key for r in (await s.scalars(select(OutboxMessage))).all()
                      if r.idempotency_key)
    assert keys == ["reports:summary:L1:2026-11-03:D", "reports:summary:L1:2026-11-03:N"]
