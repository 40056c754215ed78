"""Files as a Chinese plant has them: GBK/GB18030 or UTF-16 CSV, damaged workbooks, big files read in chunks."""
from __future__ import annotations

import codecs
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from bot.imports import ImportFileError
from bot.models import Machine, WorkOrder
from bot.models.reports import WorkReport
from tests.bot.imports.support import MACHINES, run, seed_masters

pytestmark = pytest.mark.db
CHINESE = "machine,name,line,ideal_cycle_time_s\nM1,一号冲压机,一线,1.0\nM2,焊机,一线,2.5\n"


async def names(session_factory) -> dict[str, str]:
    async with session_factory() as session:
        return dict((await session.execute(select(Machine.code, Machine.name))).all())


@pytest.mark.parametrize(("encoding", "bom", "label"), [
    ("gb18030", b"", "GB18030"), ("gbk", b"", "GB18030"), ("utf-8", b"", "UTF-8"),
    ("utf-8", codecs.BOM_UTF8, "UTF-8 with BOM"), ("utf-16-le", codecs.BOM_UTF16_LE, "UTF-16 LE"),
    ("utf-16-be", codecs.BOM_UTF16_BE, "UTF-16 BE"), ("utf-16-le", b"", "UTF-16 LE")])
async def test_csv_in_the_encodings_excel_saves_is_read_and_named(session_factory, tmp_path: Path, encoding: str,
                                                                  bom: bytes, label: str) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(bom + CHINESE.replace("\n", "\r\n").encode(encoding))
    summary = await run(session_factory, "machines", path)
    assert summary.ok and summary.rows_loaded == 2 and summary.encoding == label
    assert await names(session_factory) == {"M1": "一号冲压机", "M2": "焊机"}


async def test_excel_unicode_text_is_utf16_with_tabs(session_factory, tmp_path: Path) -> None:
    path = tmp_path / "m.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + CHINESE.replace(",", "\t").encode("utf-16-le"))
    summary = await run(session_factory, "machines", path)
    assert summary.ok and summary.rows_loaded == 2 and summary.encoding == "UTF-16 LE"


async def test_text_in_no_known_encoding_names_the_line(session_factory, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(b"machine,name,line,ideal_cycle_time_s\nM1,a,L1,1\nM2,b,L1,1\nM3,\xff\xfe\xfd,L1,1\n")
    with pytest.raises(ImportFileError) as caught:
        await run(session_factory, "machines", path)
    message = str(caught.value)
    assert message.startswith("m.csv: not text in UTF-8 (line 4) or GB18030 (line 4)") and "\n" not in message


@pytest.mark.parametrize("damage", ["truncated", "csv_renamed", "zip_not_workbook", "xls_renamed"])
async def test_a_damaged_workbook_is_one_readable_line(session_factory, tmp_path: Path, damage: str) -> None:
    path = tmp_path / "m.xlsx"
    book = Workbook()
    book.active.append(["machine", "name", "line", "ideal_cycle_time_s"])
    book.active.append(["M1", "冲压机", "L1", 1.0])
    book.save(path)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "csv_renamed":
        path.write_text(MACHINES, encoding="utf-8")
    elif damage == "zip_not_workbook":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("readme.txt", "not a workbook")
    else:
        path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    with pytest.raises(ImportFileError) as caught:
        await run(session_factory, "machines", path)
    message = str(caught.value)
    assert message.startswith("m.xlsx: ") and "\n" not in message and "Traceback" not in message
    expected = {"truncated": "not a complete .xlsx", "csv_renamed": "not a complete .xlsx",
                "zip_not_workbook": "cannot be read as an .xlsx", "xls_renamed": "97-2003"}[damage]
    assert expected in message


async def test_a_file_over_the_size_cap_is_refused_before_reading(session_factory, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(MACHINES * 200, encoding="utf-8")
    with pytest.raises(ImportFileError, match=r"m\.csv: 0\.0 MiB is over the import limit of 0\.0 MiB"):
        await run(session_factory, "machines", path, max_bytes=1000)
    assert (await run(session_factory, "machines", path, max_bytes=10**6)).rejected  # read (repeats rejected)


async def test_chunks_keep_whole_file_checks_and_spreadsheet_row_numbers(session_factory, tmp_path: Path) -> None:
    """Read two rows at a time: a repeat across chunks is still found, blank rows do not shift the numbers."""
    text = ("machine,name,line,ideal_cycle_time_s\nM1,a,L1,1\n\nM2,b,L1,1\nM3,c,L1,x\n,,,\nM1,d,L1,1\n")
    summary = await run(session_factory, "machines", _write(tmp_path / "m.csv", text), chunk_rows=2)
    assert summary.aborted and summary.rows_read == 4
    assert summary.rejected == [(5, "ideal_cycle_time_s: must be a number > 0"),
                                (7, "duplicate machine (same as row 2)")]
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Machine)) == 0  # still all or nothing


async def test_xlsx_streams_real_dates_and_skips_blank_rows(session_factory, tmp_path: Path) -> None:
    await seed_masters(session_factory, tmp_path)
    path = tmp_path / "r.xlsx"
    book = Workbook()
    sheet = book.active
    sheet.append(["Reported_At", "user", "work_order", "operation", "machine", "good", "scrap"])
    for minute in range(5):
        sheet.append([datetime(2026, 1, 5, 12, minute), "op1", "WO1", None, "M1", 10.0, 0])
    sheet.append([None] * 7)
    sheet.append([datetime(2026, 1, 5, 13, 0), "op1", "WO1", None, "M9", 1, 0])
    book.save(path)
    summary = await run(session_factory, "reports", path, chunk_rows=2)
    assert summary.encoding == "XLSX" and summary.rows_read == 6
    assert summary.rejected == [(8, "machine: unknown machine M9")]
    fixed = Workbook()
    for row in list(sheet.iter_rows(values_only=True))[:6]:
        fixed.active.append(row)
    fixed.save(path)
    assert (await run(session_factory, "reports", path, chunk_rows=2)).rows_loaded == 5
    async with session_factory() as session:
        first = await session.scalar(select(func.min(WorkReport.created_at)))
        total = await session.scalar(select(func.sum(WorkReport.good)))
    assert first == datetime(2026, 1, 5, 4, 0, tzinfo=UTC) and total == 50


async def test_reports_only_while_the_order_was_released(session_factory, tmp_path: Path) -> None:
    """The import applies the chat/H5 rule at each report's time: not on a draft or closed order, not before
    the release (WO1 was released at 07:00 plant time)."""
    await seed_masters(session_factory, tmp_path)
    async with session_factory.begin() as session:
        session.add_all([WorkOrder(code="WO-DRAFT", quantity=5, status="draft"),
                         WorkOrder(code="WO-CLOSED", quantity=5, status="closed")])
    text = ("reported_at,user,work_order,operation,machine,good,scrap\n"
            "2026-01-05 06:59,op1,WO1,,M1,1,0\n2026-01-05 12:00,op1,WO-DRAFT,,M1,1,0\n"
            "2026-01-05 12:00,op1,WO-CLOSED,,M1,1,0\n2026-01-05 07:00,op1,WO1,,M1,1,0\n")
    summary = await run(session_factory, "reports", _write(tmp_path / "r.csv", text))
    assert summary.aborted and summary.rows_loaded == 0
    assert summary.rejected == [(2, "work_order: WO1 was not released yet (released 2026-01-05 07:00)"),
                                (3, "work_order: WO-DRAFT is not released (draft)"),
                                (4, "work_order: WO-CLOSED is closed")]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
