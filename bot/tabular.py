"""Every CSV and XLSX the project writes goes through here, so that each is Excel-friendly (UTF-8 BOM, frozen
header, filter, column widths, dates as dates) and none can carry a live formula (OWASP "CSV injection")."""
from __future__ import annotations

import csv
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from itertools import chain, islice
from pathlib import Path
from typing import TextIO

Cell = str | int | float | Decimal | bool | date | datetime | time | None
Row = Sequence[Cell]

# A text cell starting with one of these is run by Excel, LibreOffice or Sheets as a formula (or a DDE call).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # XML 1.0 cannot hold them; openpyxl refuses them
DATETIME_FORMAT, DATE_FORMAT, TIME_FORMAT = "yyyy-mm-dd hh:mm:ss", "yyyy-mm-dd", "hh:mm:ss"
SIZING_ROWS = 500  # column widths come from the header and the first rows, so a big sheet still streams
MAX_WIDTH = 60


def safe_text(value: str) -> str:
    """Text as a spreadsheet shows it literally: a leading quote when it would start a formula."""
    value = _ILLEGAL.sub("", value)
    if value.lstrip(" ").startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value.strip()):
        return "'" + value
    return value


def _wall_clock(value: datetime) -> datetime:
    """Excel has no time zones: callers convert to plant time, the sheet keeps that wall-clock time."""
    return value.replace(tzinfo=None) if value.tzinfo is not None else value


def _csv_cell(value: Cell) -> Cell:
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, datetime):
        return _wall_clock(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date | time):
        return value.isoformat()
    return value  # numbers stay numbers: -5 is a number, not a formula


def write_csv(target: Path | str | TextIO | None, header: Row, rows: Iterable[Row]) -> int:
    """UTF-8 with a BOM (Excel opens it as UTF-8, not the ANSI code page); None writes to stdout. Rows written."""
    if target is None or not isinstance(target, Path | str):
        return _write_csv(target or sys.stdout, header, rows)
    with Path(target).open("w", encoding="utf-8-sig", newline="") as handle:
        return _write_csv(handle, header, rows)


def _write_csv(handle: TextIO, header: Row, rows: Iterable[Row]) -> int:
    writer = csv.writer(handle)
    writer.writerow([_csv_cell(v) for v in header])
    count = 0
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
        count += 1
    return count


def _width(value: Cell) -> int:
    if isinstance(value, datetime):
        return 19
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)  # CJK takes two columns


def write_xlsx(path: Path | str, header: Row, rows: Iterable[Row], *, sheet: str) -> int:
    """One sheet, streamed (write-only workbook): frozen header, autofilter, widths, real dates. Rows written."""
    return write_xlsx_sheets(path, [(sheet, header, rows)])


def write_xlsx_sheets(path: Path | str, sheets: Iterable[tuple[str, Row, Iterable[Row]]]) -> int:
    """Several sheets in one workbook, each like write_xlsx's (a report with one sheet per section)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    count = sum(_xlsx_sheet(book, sheet, header, rows) for sheet, header, rows in sheets)
    book.save(path)
    return count


def _xlsx_sheet(book: object, sheet: str, header: Row, rows: Iterable[Row]) -> int:
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.filters import AutoFilter

    rows = iter(rows)
    first = list(islice(rows, SIZING_ROWS))
    ws = book.create_sheet(sheet[:31])  # type: ignore[attr-defined]
    widths = [_width(v) for v in header]
    for row in first:
        widths = [max(w, _width(v)) for w, v in zip(widths, row, strict=False)] + widths[len(row):]
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = min(MAX_WIDTH, max(8, width + 2))
    ws.freeze_panes = "A2"
    ws.append(list(_xlsx_cells(ws, header)))
    count = 0
    for row in chain(first, rows):
        ws.append(list(_xlsx_cells(ws, row)))
        count += 1
    ws.auto_filter = AutoFilter(ref=f"A1:{get_column_letter(max(1, len(header)))}{count + 1}")
    return count


def _xlsx_cells(ws: object, row: Row) -> Iterator[object]:
    """Text is always stored as a string cell, never as a formula or an error value ("#N/A")."""
    from openpyxl.cell import WriteOnlyCell

    for value in row:
        if isinstance(value, str):
            cell = WriteOnlyCell(ws, value=safe_text(value))
            cell.data_type = "s"
            yield cell
        elif isinstance(value, datetime | date | time):
            cell = WriteOnlyCell(ws, value=_wall_clock(value) if isinstance(value, datetime) else value)
            cell.number_format = (DATETIME_FORMAT if isinstance(value, datetime)
                                  else DATE_FORMAT if isinstance(value, date) else TIME_FORMAT)
            yield cell
        else:
            yield value
