"""`opsbot export reports`: work reports of a period as CSV (UTF-8 with BOM) or XLSX."""
from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path

from bot.settings import Settings, load_settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    reports = export_group(sub).add_parser("reports", help="work reports (报工) of a period")
    reports.add_argument("--from", dest="start", required=True, type=date.fromisoformat,
                         help="first plant-local day, YYYY-MM-DD")
    reports.add_argument("--to", dest="end", required=True, type=date.fromisoformat,
                         help="last plant-local day, YYYY-MM-DD (included)")
    reports.add_argument("--format", choices=["csv", "xlsx"], help="default: from the --out suffix, else csv")
    reports.add_argument("--out", required=True, help="file to write")
    reports.add_argument("--all", action="store_true", help="also undone, rejected and pending reports")
    reports.set_defaults(func=run_export)


def export_group(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    """The shared `opsbot export` group, created by whichever feature registers first."""
    existing = sub.choices.get("export")
    if existing is None:
        existing = sub.add_parser("export", help="export data as CSV or Excel")
        existing.add_subparsers(dest="export_command", required=True)
    return next(a for a in existing._actions if isinstance(a, argparse._SubParsersAction))


def export_window(args: argparse.Namespace) -> tuple[Settings, Path, str, datetime, datetime] | None:
    """What every dated export reads from its arguments: settings, file, format (from --format, else the
    file's suffix) and the [start, end) of the plant-local days --from … --to; None (and one line) when --to
    is before --from."""
    if args.end < args.start:
        print("error: --to is before --from", file=sys.stderr)
        return None
    settings = load_settings(args.config, needs={"database"})
    out = Path(args.out)
    fmt = args.format or ("xlsx" if out.suffix.lower() == ".xlsx" else "csv")
    start, end = settings.calendar.days_bounds(args.start, args.end)
    return settings, out, fmt, start, end


async def run_export(args: argparse.Namespace) -> int:
    from bot.db import make_engine, make_session_factory
    from bot.reports.export import export_names, table, write_csv, write_xlsx
    from bot.reports.queries import report_rows

    window = export_window(args)
    if window is None:
        return 2
    settings, out, fmt, start, end = window
    engine = make_engine(settings.database.url)
    try:
        async with make_session_factory(engine)() as session:
            rows = await report_rows(session, settings.feature("reports"), settings.calendar, start=start, end=end,
                                     statuses=None if args.all else ("confirmed",))
    finally:
        await engine.dispose()
    names = export_names()
    data = table(rows, settings.tz, names)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        write_xlsx(out, data, names["sheet"])
    else:
        write_csv(out, data)
    print(f"{len(rows)} reports {args.start}..{args.end} -> {out} ({fmt})")
    return 0
