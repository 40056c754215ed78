"""The review as an XLSX, one sheet per section; numbers stay numbers (ratios as fractions, seconds as
seconds), missing values stay empty cells rather than zeros."""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from bot import tabular
from bot.review.service import Review
from bot.tabular import Row
from bot.templates import CONTENT_DIR

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def names(content_dir: Path = CONTENT_DIR) -> dict[str, Any]:
    return tomllib.loads((content_dir / "templates" / "review" / "export.toml").read_text(encoding="utf-8"))


def _kpi_rows(review: Review, words: dict[str, Any]) -> list[Row]:
    kpis, labels = words["kpis"], words["kpi_names"]
    rows: list[Row] = []
    for line in review.kpis:
        v = line.values
        verdict = line.changes["last"].verdict
        met = None if line.meets_target is None else kpis["met" if line.meets_target else "missed"]
        rows.append([labels[line.kpi], line.kpi, v.get("this"), v.get("last"), v.get("last_year"),
                     v.get("baseline"), line.target, line.changes["last"].delta, line.changes["baseline"].delta,
                     kpis.get(verdict) if verdict else None, met])
    return rows


def sheets(review: Review, words: dict[str, Any]) -> list[tuple[str, Row, list[Row]]]:
    p, a = review.patrols, review.adoption
    adoption: list[Row] = [[words["adoption"]["reports"], a.reports]]
    adoption += [[words["adoption"]["source"] + source, a.share(source)] for source in sorted(a.by_source)]
    adoption += [[words["adoption"]["corrections"], a.corrections],
                 [words["adoption"]["correction_rate"], a.correction_rate]]
    adoption += [[words["adoption"]["active"] + role, n] for role, n in sorted(a.active_by_role.items())]
    issues = review.issues
    machines = [[m["machine"], m["line"], m["oee"], m["availability"], m["performance"], m["quality"],
                 m["down_s"], m["down_events"], m["good"], m["scrap"]] for m in review.worst_machines]
    return [
        (words["kpis"]["sheet"], words["kpis"]["columns"], _kpi_rows(review, words)),
        (words["downtime"]["sheet"], words["downtime"]["columns"],
         [[b.code, b.name, round(b.value, 2), b.share, b.cumulative] for b in review.downtime]),
        (words["scrap"]["sheet"], words["scrap"]["columns"],
         [[b.code, b.name, int(b.value), b.share, b.cumulative] for b in review.scrap]),
        (words["machines"]["sheet"], words["machines"]["columns"], machines),
        (words["issues"]["sheet"], words["issues"]["columns"], list(map(list, zip(words["issues"]["rows"], (
            issues.opened, issues.closed, issues.open_at_end, issues.overdue_at_end), strict=True)))),
        (words["patrols"]["sheet"], words["patrols"]["columns"], list(map(list, zip(words["patrols"]["rows"], (
            p.total, p.on_time, p.missed, p.skipped, p.on_time_rate, p.answers, p.ng, p.ng_rate), strict=True)))),
        (words["training"]["sheet"], words["training"]["columns"],
         [[t.key, t.members, t.done, t.percent] for t in review.training]),
        (words["adoption"]["sheet"], words["adoption"]["columns"], adoption),
    ]


def write_workbook(review: Review, path: Path | str, content_dir: Path = CONTENT_DIR) -> int:
    return tabular.write_xlsx_sheets(path, sheets(review, names(content_dir)))


def workbook_bytes(review: Review, content_dir: Path = CONTENT_DIR) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "review.xlsx"
        write_workbook(review, path, content_dir)
        return path.read_bytes()
