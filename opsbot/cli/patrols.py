"""`opsbot patrols status` (a day's rounds, today by default) and `opsbot export patrols` (one row per item answer)."""
from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime

from bot.settings import load_settings
from opsbot.cli.reports import export_group, export_window


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    patrols = sub.add_parser("patrols", help="daily patrols (巡检/点检)")
    patrols_sub = patrols.add_subparsers(dest="patrols_command", required=True)
    status = patrols_sub.add_parser("status", help="a day's rounds: done, on time, missed, NG")
    status.add_argument("--day", type=date.fromisoformat, help="YYYY-MM-DD, a plant day (default: today)")
    status.add_argument("--line", help="only this line code")
    status.add_argument("--by", choices=["checklist", "line", "person"], default="checklist")
    status.set_defaults(func=run_status)
    export = export_group(sub).add_parser("patrols", help="patrol answers of a period")
    export.add_argument("--from", dest="start", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    export.add_argument("--to", dest="end", required=True, type=date.fromisoformat, help="YYYY-MM-DD (included)")
    export.add_argument("--format", choices=["csv", "xlsx"], help="default: from the --out suffix, else csv")
    export.add_argument("--out", required=True, help="file to write")
    export.set_defaults(func=run_export)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


async def run_status(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from bot.db import make_engine, make_session_factory
    from bot.models import Line
    from bot.patrols.figures import figures

    settings = load_settings(args.config, needs={"database"})
    day = args.day or settings.calendar.day_of(datetime.now(UTC))
    start, end = settings.calendar.day_bounds(day)
    engine = make_engine(settings.database.url)
    try:
        async with make_session_factory(engine)() as session:
            line_id = None
            if args.line:
                line_id = await session.scalar(select(Line.id).where(Line.code == args.line))
                if line_id is None:
                    print(f"error: no line {args.line!r}", file=sys.stderr)
                    return 1
            total, rows = await figures(session, start, end, by=args.by, line_id=line_id)
    finally:
        await engine.dispose()
    print(f"{'':24} rounds  done  on-time  missed  skipped  open  NG-rate")
    for fig in [*rows, total]:
        print(f"{fig.name[:24]:24} {fig.total:6} {fig.done:5} {_percent(fig.on_time_rate):>8} {fig.missed:7} "
              f"{fig.skipped:8} {fig.open:5} {_percent(fig.ng_rate):>8}")
    return 0


async def run_export(args: argparse.Namespace) -> int:
    from bot.db import make_engine, make_session_factory
    from bot.patrols.export import export_names, export_rows, write

    window = export_window(args)
    if window is None:
        return 2
    settings, out, fmt, start, end = window
    names = export_names()
    engine = make_engine(settings.database.url)
    try:
        async with make_session_factory(engine)() as session:
            rows = await export_rows(session, settings, start, end, names)
    finally:
        await engine.dispose()
    out.parent.mkdir(parents=True, exist_ok=True)
    count = write(out, fmt, rows, names)
    print(f"{count} rows {args.start}..{args.end} -> {out} ({fmt})")
    return 0
