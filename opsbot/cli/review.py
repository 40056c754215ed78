"""`opsbot review --month 2026-11 [--line L1] [--xlsx FILE] [--pdf FILE]`: the monthly review of the plant or a
line, as a text summary on stdout, with --xlsx as a workbook with one sheet per section, with --pdf as the page's
printable document (charts as images, CJK fonts embedded)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.settings import load_settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    review = sub.add_parser("review", help="the monthly review (月度复盘) of the plant or a line")
    review.add_argument("--month", required=True, help="YYYY-MM, a plant-local month")
    review.add_argument("--line", help="a line code (default: the whole plant)")
    review.add_argument("--xlsx", help="write the review to this XLSX file")
    review.add_argument("--pdf", help="write the review to this PDF file")
    review.set_defaults(func=run_review)


async def run_review(args: argparse.Namespace) -> int:
    from bot.db import make_engine, make_session_factory, utcnow
    from bot.kpi.scopes import Scope, resolve_scope
    from bot.review.access import review_url
    from bot.review.service import build_review, parse_month
    from bot.review.workbook import write_workbook
    from bot.templates import Templates

    month = parse_month(args.month)
    if month is None:
        print(f"error: --month wants YYYY-MM, got {args.month!r}", file=sys.stderr)
        return 2
    settings = load_settings(args.config, needs={"database"})
    engine = make_engine(settings.database.url)
    try:
        async with make_session_factory(engine)() as session:
            scope = Scope("plant")
            if args.line:
                found = await resolve_scope(session, args.line)
                if found is None or found.kind != "line":
                    print(f"error: no line {args.line!r}", file=sys.stderr)
                    return 1
                scope = found
            now = utcnow()
            review = await build_review(session, settings, scope, month, now)
    finally:
        await engine.dispose()
    url = review_url(settings.server.base_url, month, scope)
    templates = Templates(settings.tz)
    print(templates.render("review/summary.txt.j2", r=review, url=url).strip())
    if args.xlsx:
        out = Path(args.xlsx)
        out.parent.mkdir(parents=True, exist_ok=True)
        rows = write_workbook(review, out)
        print(f"{rows} rows in 8 sheets -> {out}")
    if args.pdf:
        from bot.review.pdf import render_pdf

        out = Path(args.pdf)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(await render_pdf(review, templates, settings.plant.name, now))
        print(f"PDF -> {out}")
    return 0
