"""Report exports for Excel users, written by bot.tabular (BOM, real dates, no live formulas)."""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot import tabular
from bot.reports.queries import ReportRow
from bot.templates import CONTENT_DIR


def export_names(content_dir: Path = CONTENT_DIR) -> dict[str, Any]:
    return tomllib.loads((content_dir / "templates" / "reports" / "export.toml").read_text(encoding="utf-8"))


def table(rows: list[ReportRow], tz: ZoneInfo, names: dict[str, Any]) -> list[list[tabular.Cell]]:
    """Header plus one list per report, times in the plant's timezone (a date cell in Excel)."""
    status, source = names["status"], names["source"]
    body: list[list[tabular.Cell]] = [
        [r.id, r.created_at.astimezone(tz).replace(microsecond=0), r.shift_day, r.shift_name,
         r.work_order, r.seq, r.operation, r.machine, r.line, r.reporter_userid, r.reporter_name, r.good, r.scrap,
         r.reason_code, r.reason_name, source.get(r.source, r.source), status.get(r.status, r.status), r.changes]
        for r in rows]
    return [list(names["columns"]), *body]


def write_csv(path: Path, data: list[list[tabular.Cell]]) -> None:
    tabular.write_csv(path, data[0], data[1:])


def write_xlsx(path: Path, data: list[list[tabular.Cell]], sheet: str) -> None:
    tabular.write_xlsx(path, data[0], data[1:], sheet=sheet)
