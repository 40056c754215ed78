"""`opsbot export issues --format xlsx|csv`: the issue list (问题清单) as Excel or CSV. Its import is the `issues`
kind of `opsbot import` (`opsbot import issues FILE [--dry-run]`, bot/issues/importing.py)."""
from __future__ import annotations

import argparse
from pathlib import Path

from opsbot.cli.reports import export_group

STATUSES = ["all", "open", "done", "new", "in_progress", "to_verify", "closed", "rejected"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    issues = export_group(sub).add_parser("issues", help="the issue list (问题清单)")
    issues.add_argument("--format", choices=["csv", "xlsx"], help="default: from the --out suffix, else xlsx")
    issues.add_argument("--out", help="file to write (default 问题清单-<day>.<format>)")
    issues.add_argument("--status", choices=STATUSES, default="all", help="which issues (default all)")
    issues.add_argument("--overdue", action="store_true", help="only open issues past their due day")
    issues.set_defaults(func=run_export)


async def run_export(args: argparse.Namespace) -> int:
    from bot.db import make_engine, make_session_factory, utcnow
    from bot.issues.excel import export
    from bot.issues.listing import IssueFilter
    from bot.migrate import ensure_schema
    from bot.settings import load_settings

    settings = load_settings(args.config, needs={"database"})
    today = settings.calendar.day_of(utcnow())
    fmt = args.format or (Path(args.out).suffix.lower().lstrip(".") if args.out else "xlsx")
    fmt = fmt if fmt in ("csv", "xlsx") else "xlsx"
    out = Path(args.out or f"问题清单-{today.isoformat()}.{fmt}")
    await ensure_schema(settings.database.url)
    engine = make_engine(settings.database.url)
    try:
        async with make_session_factory(engine)() as session:
            filters = IssueFilter(status="" if args.status == "all" else args.status, overdue=args.overdue)
            out.parent.mkdir(parents=True, exist_ok=True)
            count = await export(session, out, fmt, filters, settings.tz, today)
    finally:
        await engine.dispose()
    print(f"{count} issues -> {out} ({fmt})")
    return 0
