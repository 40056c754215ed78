"""`opsbot export training`: the completion matrix (members × items, by line and role) or completion per role or
line (the monthly review), as rows for bot.tabular."""
from __future__ import annotations

import tomllib
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.tabular import Row
from bot.training.catalog import Catalog
from bot.training.figures import matrix, tallies
from bot.training.settings import TrainingSettings


def names(content_dir: Path) -> dict[str, str]:
    return tomllib.loads((content_dir / "templates" / "training" / "export.toml").read_text(encoding="utf-8"))


async def export_rows(session: AsyncSession, catalog: Catalog, settings: TrainingSettings, by: str,
                      words: dict[str, str], line_code: str | None = None) -> tuple[Row, list[Row]]:
    table = await matrix(session, catalog, settings, line_code)
    if by != "matrix":
        header: Row = [words["key"], words["members"], words["done"], words["percent"]]
        return header, [[t.key, t.members, t.done, t.percent] for t in tallies(table, by)]
    items = list(catalog.items.values())
    header = [words["line"], words["name"], words["userid"], words["roles"], *[f"{i.code} {i.title}" for i in items]]
    rows: list[Row] = []
    for cells in table:
        first = next((c for c in cells if c is not None), None)
        if first is None:
            continue
        user = first.user
        rows.append([first.line, user.name, user.wecom_userid, " ".join(user.roles),
                     *[c.label if c else words["not_for_role"] for c in cells]])
    return header, rows
