"""Report exports for Excel users: CSV in UTF-8 with a BOM (so Excel reads Chinese) and XLSX."""
from __future__ import annotations

import csv
import tomllib
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.reports.queries import ReportRow
from bot.templates import CONTENT_DIR


def export_names(content_dir: Path = CONTENT_DIR) -> dict[str, Any]:
    return tomllib.loads((content_dir / "templates" / "reports" / "export.toml").read_text(encoding="utf-8"))


def table(rows: list[ReportRow], tz: ZoneInfo, names: dict[str, Any]) -> list[list[object]]:
    """Header plus one list per report, times in the plant's timezone."""
    status, source = names["status"], names["source"]
    body: list[list[object]] = [
        [r.id, r.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"), r.shift_day.isoformat(), r.shift_name,
         r.work_order, r.seq, r.operation, r.machine, r.line, r.reporter_userid, r.reporter_name, r.good, r.scrap,
         r.reason_code, r.reason_name, source.get(r.source, r.source), status.get(r.status, r.status), r.changes]
        for r in rows]
    return [list(names["columns"]), *body]


def write_csv(path: Path, data: list[list[object]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(data)


def write_xlsx(path: Path, data: list[list[object]], sheet: str) -> None:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book = Workbook()
    ws = book.active
    ws.title = sheet
    for row in data:
        ws.append(row)
    ws.freeze_panes = "A2"
    for index, header in enumerate(data[0], start=1):
        ws.column_dimensions[get_column_letter(index)].width = max(8, len(str(header)) * 2 + 2)
    book.save(path)
