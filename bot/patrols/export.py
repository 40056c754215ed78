"""`opsbot export patrols`: one row per item answer (and one per round with none), photos as links, through
bot.tabular so a cell never becomes a live formula."""
from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import User
from bot.models.patrols import PatrolAnswer, PatrolRound, PatrolVisit
from bot.patrols.versions import checklist_at
from bot.patrols.views import STATUS_NAMES
from bot.settings import Settings
from bot.tabular import Cell, write_csv, write_xlsx
from bot.templates import CONTENT_DIR


def export_names(content_dir: Path = CONTENT_DIR) -> dict[str, Any]:
    return tomllib.loads((content_dir / "templates" / "patrols" / "export.toml").read_text(encoding="utf-8"))


async def export_rows(session: AsyncSession, settings: Settings, start: datetime, end: datetime,
                      names: dict[str, Any]) -> list[list[Cell]]:
    tz, base = settings.tz, settings.server.base_url
    rounds = list(await session.scalars(select(PatrolRound).where(
        PatrolRound.window_start >= start, PatrolRound.window_start < end).order_by(PatrolRound.window_start,
                                                                                    PatrolRound.id)))
    ids = [r.id for r in rounds]
    answers: dict[int, list[PatrolAnswer]] = {}
    visits: dict[tuple[int, str], PatrolVisit] = {}
    if ids:
        for a in await session.scalars(select(PatrolAnswer).where(PatrolAnswer.round_id.in_(ids))
                                       .order_by(PatrolAnswer.id)):
            answers.setdefault(a.round_id, []).append(a)
        visits = {(v.round_id, v.checkpoint): v for v in await session.scalars(
            select(PatrolVisit).where(PatrolVisit.round_id.in_(ids)))}
    users = {u.id: u for u in await session.scalars(select(User))}
    local = lambda t: t.astimezone(tz) if t else None  # noqa: E731
    out: list[list[Cell]] = []
    for r in rounds:
        checklist = await checklist_at(session, r.checklist_code, r.version)
        head: list[Cell] = [r.id, checklist.code, r.version, checklist.name, r.scope_key, local(r.window_start),
                            local(r.due_at), STATUS_NAMES.get(r.status, r.status), r.reason or "",
                            names["yes"] if r.too_fast else "", ", ".join(r.assignees)]
        for a in answers.get(r.id, []) or [None]:
            if a is None:
                out.append([*head, "", "", "", "", "", "", "", "", "", "", ""])
                continue
            cp = checklist.checkpoint(a.checkpoint)
            item = next((i for i in cp.items if i.code == a.item), None) if cp else None
            visit = visits.get((r.id, a.checkpoint))
            who = users.get(a.answered_by)
            out.append([*head, cp.name if cp else a.checkpoint, item.name if item else a.item, a.value,
                        names["ng"] if a.ng else names["ok"], local(visit.scanned_at) if visit else None,
                        local(a.answered_at), names["yes"] if visit and visit.unscanned else "",
                        who.name if who else "", a.issue_ref or "",
                        f"{base}/h5/patrols/photo/{a.photo_id}" if a.photo_id else "", a.number])
    return out


def write(path: Path, fmt: str, rows: list[list[Cell]], names: dict[str, Any]) -> int:
    iterator: Iterator[list[Cell]] = iter(rows)
    if fmt == "xlsx":
        return write_xlsx(path, names["columns"], iterator, sheet=names["sheet"])
    return write_csv(path, names["columns"], iterator)
