"""Machine-state intervals as CSV or Excel, in plant-local time, for people who analyse them by hand."""
from __future__ import annotations

import csv
import io
import sys
from zoneinfo import ZoneInfo

from bot.equipment.status import IntervalRow

HEADER = ["line", "machine", "state", "start", "end", "duration_s", "reason_code", "source", "open"]


def _cells(row: IntervalRow, tz: ZoneInfo) -> list[object]:
    return [row.line_code, row.machine_code, row.state, row.start_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
            row.end_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"), round(row.duration_s, 1),
            row.reason_code or "", row.source, "yes" if row.still_open else ""]


def write_intervals(rows: list[IntervalRow], tz: ZoneInfo, fmt: str, out: str | None) -> None:
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "machine_states"
        sheet.append(HEADER)
        for row in rows:
            sheet.append(_cells(row, tz))
        book.save(out)
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(_cells(row, tz) for row in rows)
    if out:
        with open(out, "w", encoding="utf-8-sig", newline="") as handle:  # BOM: Excel opens it as UTF-8
            handle.write(buffer.getvalue())
    else:
        sys.stdout.write(buffer.getvalue())
