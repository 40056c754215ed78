"""Machine-state intervals as CSV or Excel, in plant-local time, for people who analyse them by hand."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from bot import tabular
from bot.equipment.status import IntervalRow

HEADER = ["line", "machine", "state", "start", "end", "duration_s", "reason_code", "source", "open"]


def _cells(row: IntervalRow, tz: ZoneInfo) -> list[tabular.Cell]:
    return [row.line_code, row.machine_code, row.state, row.start_at.astimezone(tz).replace(microsecond=0),
            row.end_at.astimezone(tz).replace(microsecond=0), round(row.duration_s, 1),
            row.reason_code or "", row.source, "yes" if row.still_open else ""]


def write_intervals(rows: list[IntervalRow], tz: ZoneInfo, fmt: str, out: str | None) -> None:
    """CSV goes to stdout without --out; XLSX always needs a file."""
    cells = (_cells(row, tz) for row in rows)
    if fmt == "xlsx":
        assert out is not None
        tabular.write_xlsx(out, HEADER, cells, sheet="machine_states")
    else:
        tabular.write_csv(out, HEADER, cells)
