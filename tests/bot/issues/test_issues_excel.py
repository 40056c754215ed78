"""An existing 问题清单.xlsx of 500 rows through `import issues`: bad dates, unknown owners and statuses are
reported by their spreadsheet row and nothing loads; the fixed file loads whole, keeps a formula-like title as
text, and the export opens in openpyxl with that title neutralised, the header frozen and dates as dates."""
from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.imports import run_import
from bot.issues.excel import export
from bot.issues.listing import IssueFilter
from bot.models import Line, User
from bot.models.issues import Issue, IssueCounter, IssueEvent
from tests.conftest import make_settings

pytestmark = pytest.mark.db
NOW = datetime(2026, 5, 20, 2, 0, tzinfo=UTC)
FORMULA = '=HYPERLINK("http://evil.example/x","点我")'
HEADER = ["编号", "标题", "类别", "优先级", "状态", "负责人", "报告人", "产线", "截止日期", "创建时间"]


async def seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        from bot.models import Plant

        plant = Plant(code="P", name="测试工厂", timezone="Asia/Shanghai")
        session.add(plant)
        await session.flush()
        session.add(Line(plant_id=plant.id, code="L1", name="一线"))
        for userid, name, roles in (("maint1", "孙师傅", ["maintenance"]), ("pm1", "周经理", ["pm"]),
                                    ("lead1", "赵班长", ["team_lead"]), ("lead2", "赵班长", ["team_lead"])):
            session.add(User(wecom_userid=userid, name=name, roles=roles))


def workbook(path: Path, bad: bool) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    statuses = ["新建", "处理中", "已关闭", "待验证", "已驳回"]
    for i in range(500):
        row = sheet.max_row + 1  # the row number Excel shows
        number = f"Q-2025-{i + 1:04d}" if i < 100 else ""  # the old list had numbers, newer rows do not
        title = FORMULA if row == 30 else f"问题 {i}"
        owner = "孙师傅" if i % 2 else "pm1"
        status = statuses[i % 5]
        due: object = date(2026, 5, 1 + i % 28)
        if bad and row == 10:
            due = "2026-13-45"
        if bad and row == 20:
            owner = "不存在的人"
        if bad and row == 40:
            status = "搁置"
        if bad and row == 50:
            owner = "赵班长"  # two people have this name
        created = datetime(2025, 12, 1 + i % 28, 8, 30) if i < 100 else datetime(2026, 4, 1 + i % 28, 9)
        sheet.append([number, title, "设备", "高" if i % 3 == 0 else "", status, owner, "", "L1", due, created])
        sheet.cell(row, 2).data_type = "s"  # text typed with a leading quote: a string cell, not a formula
    book.save(path)


async def test_a_500_row_list_with_bad_rows_is_reported_by_row_and_nothing_loads(
        session_factory: async_sessionmaker[AsyncSession], db_url: str, tmp_path: Path) -> None:
    await seed(session_factory)
    settings = make_settings(db_url)
    path = tmp_path / "问题清单.xlsx"
    workbook(path, bad=True)
    summary = await run_import(session_factory, "issues", path, tz="Asia/Shanghai", shifts=[], plant_name="P",
                               now=NOW, settings=settings)
    assert summary.aborted and summary.rows_read == 500 and summary.rows_loaded == 0
    reasons = dict(summary.rejected)
    assert sorted(reasons) == [10, 20, 40, 50], reasons
    assert "due: not a date" in reasons[10]
    assert "owner: unknown person 不存在的人" in reasons[20]
    assert "status: unknown value 搁置" in reasons[40]
    assert "several people" in reasons[50]
    assert summary.rows_read == summary.rows_loaded + summary.rows_rejected + summary.rows_held_back
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Issue)) == 0


async def test_the_fixed_list_loads_whole_and_exports_with_the_formula_neutralised(
        session_factory: async_sessionmaker[AsyncSession], db_url: str, tmp_path: Path) -> None:
    await seed(session_factory)
    settings = make_settings(db_url)
    path = tmp_path / "问题清单.xlsx"
    workbook(path, bad=False)
    dry = await run_import(session_factory, "issues", path, tz="Asia/Shanghai", shifts=[], plant_name="P", now=NOW,
                           settings=settings, dry_run=True)
    assert (dry.rows_read, dry.rows_loaded, dry.rows_held_back, dry.rows_rejected) == (500, 0, 500, 0)
    summary = await run_import(session_factory, "issues", path, tz="Asia/Shanghai", shifts=[], plant_name="P",
                               now=NOW, settings=settings)
    assert summary.ok and summary.rows_loaded == 500, summary.rejected
    again = await run_import(session_factory, "issues", path, tz="Asia/Shanghai", shifts=[], plant_name="P",
                             now=NOW, settings=settings)
    assert again.ok and again.rows_loaded == 0 and again.rows_rejected == 500, "a re-import adds nothing"
    async with session_factory() as session:
        issues = {i.number: i for i in await session.scalars(select(Issue))}
        counters = {c.year: c.last for c in await session.scalars(select(IssueCounter))}
        events = await session.scalar(select(func.count()).select_from(IssueEvent))
        maint = await session.scalar(select(User.id).where(User.wecom_userid == "maint1"))
    assert len(issues) == 500
    assert counters == {2025: 100, 2026: 400}, "numbers continue after the highest given"
    formula_issue = next(i for i in issues.values() if i.title == FORMULA)
    assert formula_issue.number == "Q-2025-0029" and formula_issue.status == "to_verify"
    assert formula_issue.resolved_at is not None and formula_issue.closed_at is None
    assert formula_issue.source == "import"
    assert issues["Q-2025-0002"].owner_id == maint and issues["Q-2025-0002"].status == "in_progress"
    assert issues["Q-2025-0001"].priority == "high" and issues["Q-2025-0002"].priority == "medium"
    assert events == 500 + 400, "a created row each, and a status row for each not imported as new"

    out = tmp_path / "export.xlsx"
    async with session_factory() as session:
        written = await export(session, out, "xlsx", IssueFilter(status=""), settings.tz, date(2026, 5, 20))
    assert written == 500
    sheet = load_workbook(out).active
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:R501"
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["编号", "标题", "描述"]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == "Q-2025-0029")
    assert row[1].value == "'" + FORMULA and row[1].data_type == "s"
    assert isinstance(row[12].value, datetime) and row[12].number_format == "yyyy-mm-dd"
    assert row[5].value == "待验证"
