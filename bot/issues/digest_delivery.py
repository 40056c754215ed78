"""Sending the weekly digest: a card linking to its H5 page, the burn-up chart and the Excel list, each once per
ISO week (`iss:digest:<week>:…`). The chart and the file are media steps: the sender renders and uploads them
(`media/upload` type image / file), so the job itself only counts and queues."""
from __future__ import annotations

import asyncio
import io
import json
import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import outbox
from bot.issues.digest import TREND_WEEKS, Digest, Week, build_digest, reported_week, week_of
from bot.issues.excel import collect, export_names
from bot.issues.listing import IssueFilter
from bot.outbox import MediaFile, MediaStep, Priority, Producer
from bot.people import userids_with_roles
from bot.templates import CONTENT_DIR

CHART, FILE = "issues_digest_chart", "issues_digest_xlsx"


def digest_url(base_url: str, week: Week) -> str:
    return f"{base_url}/h5/issues/digest?week={week.monday.isoformat()}"


async def send_digest(services: Any, now: datetime) -> Digest | None:
    """Queues the digest of the last full week to the PMs; None (and nothing queued) for a week without any
    change, or once it was queued (a rerun or a second replica)."""
    settings = services.settings
    issues = settings.feature("issues")
    calendar = settings.calendar
    week = reported_week(calendar, now)
    key = f"iss:digest:{week.iso}"
    async with services.sessions.begin() as session:
        if await outbox.is_queued(session, f"{key}:card"):
            return None
        digest = await build_digest(session, calendar, week)
        if not digest.changes:
            return None
        to = await userids_with_roles(session, [issues.pm_role])
        if not to:
            return None
        card = json.loads(services.templates.render("issues/digest_card.json.j2", d=digest,
                                                    url=digest_url(settings.server.base_url, week)))
        if await outbox.enqueue_once(session, f"{key}:card", "template_card", card, to=to, now=now,
                                     priority=Priority.ROUTINE) is None:
            return None
        args = {"week": week.monday.isoformat()}
        await outbox.enqueue_once(session, f"{key}:chart", "image", {}, to=to, now=now, priority=Priority.ROUTINE,
                                  media=MediaStep(CHART, args, kind="image"))
        await outbox.enqueue_once(session, f"{key}:file", "file", {}, to=to, now=now, priority=Priority.ROUTINE,
                                  media=MediaStep(FILE, args, kind="file"))
    return digest


def chart_labels(content_dir: Path = CONTENT_DIR) -> dict[str, str]:
    return tomllib.loads((content_dir / "templates" / "issues" / "chart_labels.toml").read_text(encoding="utf-8"))


def render_chart(trend: list[tuple[date, int, int, int]], labels: dict[str, str]) -> bytes:
    """Burn-up (cumulative raised and closed: the gap is the work left) over open-issue bars (the burn-down)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from bot.kpi.chart import cjk_font

    font = cjk_font()
    text_kw: dict[str, Any] = {"fontproperties": font} if font is not None else {}
    figure = Figure(figsize=(8, 4.5), dpi=100)
    axis = figure.add_subplot()
    names = [day.strftime("%m-%d") for day, *_ in trend]
    axis.bar(names, [row[3] for row in trend], color="#f6d5c8", label=labels["open"])
    axis.plot(names, [row[1] for row in trend], "-o", color="#1f77b4", label=labels["created"])
    axis.plot(names, [row[2] for row in trend], "-o", color="#07c160", label=labels["closed"])
    axis.set_ylabel(labels["axis"], **text_kw)
    last = trend[-1][0].strftime("%Y-%m-%d") if trend else ""
    axis.set_title(labels["title"].format(weeks=len(trend) or TREND_WEEKS, day=last), **text_kw)
    legend = axis.legend(loc="upper left", fontsize=9, prop=font)
    for text in legend.get_texts() if font is not None else []:
        text.set_fontproperties(font)
    axis.grid(alpha=0.3, axis="y")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


async def digest_for(sessions: async_sessionmaker[AsyncSession], settings: Any, monday: date) -> Digest:
    async with sessions() as session:
        return await build_digest(session, settings.calendar, week_of(settings.calendar, monday))


def producers(sessions: async_sessionmaker[AsyncSession], settings: Any) -> dict[str, Producer]:
    """The sender's producers for the digest's chart and Excel file (opsbot/app.py registers them)."""

    async def chart(args: dict[str, Any], now: datetime) -> MediaFile:
        digest = await digest_for(sessions, settings, date.fromisoformat(args["week"]))
        png = await asyncio.to_thread(render_chart, digest.trend, chart_labels())
        return MediaFile(f"问题清单-{digest.week.iso}.png", "image/png", png)

    async def workbook(args: dict[str, Any], now: datetime) -> MediaFile:
        week = week_of(settings.calendar, date.fromisoformat(args["week"]))
        async with sessions() as session:
            rows = await collect(session, IssueFilter(status=""), settings.tz, week.after)
        return MediaFile(f"问题清单-{week.iso}.xlsx",
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         await asyncio.to_thread(_xlsx, rows))

    return {CHART: chart, FILE: workbook}


def _xlsx(rows: list[list[Any]]) -> bytes:
    import tempfile

    from bot import tabular

    names = export_names()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "issues.xlsx"
        tabular.write_xlsx(path, names["columns"], rows, sheet=names["sheet"])
        return path.read_bytes()


__all__ = ["CHART", "FILE", "digest_url", "producers", "render_chart", "send_digest"]
