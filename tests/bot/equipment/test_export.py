"""Machine-state exports with codes and reasons as a PLC or a user typed them: no live formula in CSV or XLSX."""
from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from bot.equipment.export import HEADER, write_intervals
from bot.equipment.status import IntervalRow

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)
ROWS = [IntervalRow("=cmd|' /C calc'!A0", "L1", "down", START, START + timedelta(minutes=30), 1800.0, "-2+3",
                    "opcua", False),
        IntervalRow("L1-M2", "+L2", "running", START, START + timedelta(hours=1), 3600.0, None, "opcua", True)]


def test_csv_cells_cannot_start_a_formula(tmp_path: Path) -> None:
    out = tmp_path / "states.csv"
    write_intervals(ROWS, TZ, "csv", str(out))
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0] == HEADER
    assert rows[1][:4] == ["L1", "'=cmd|' /C calc'!A0", "down", "2026-03-02 08:30:00"] and rows[1][6] == "'-2+3"
    assert rows[2][0] == "'+L2" and rows[2][5] == "3600.0"


def test_xlsx_has_no_formula_cells_and_real_times(tmp_path: Path) -> None:
    out = tmp_path / "states.xlsx"
    write_intervals(ROWS, TZ, "xlsx", str(out))
    sheet = load_workbook(out).active
    assert not [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert sheet["B2"].value == "'=cmd|' /C calc'!A0" and sheet["G2"].value == "'-2+3"
    assert sheet["D2"].value == datetime(2026, 3, 2, 8, 30) and sheet["D2"].is_date
    assert (sheet["F2"].value, sheet["F2"].data_type) == (1800, "n") and sheet.freeze_panes == "A2"
