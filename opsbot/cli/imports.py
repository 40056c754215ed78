"""`opsbot import KIND FILE [--dry-run]`: bring history in from CSV/XLSX; needs only the database settings."""
from __future__ import annotations

import argparse
import sys

from bot.imports import DEFAULT_MAX_BYTES, KINDS, ImportFileError, ImportSummary


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("import", help="import master data, routings or history from a CSV or XLSX file "
                                           "(all rows or none)")
    parser.add_argument("kind", choices=sorted(KINDS), help="work-orders may carry operation columns (seq, "
                                                            "operation, machine, planned_quantity), one row each")
    parser.add_argument("file", help=".csv (UTF-8, GB18030 or UTF-16) or .xlsx; times with a UTC offset "
                                     "or in the plant timezone")
    parser.add_argument("--dry-run", action="store_true", help="only check the file and list rejected rows")
    parser.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES,
                        help=f"refuse bigger files (default {DEFAULT_MAX_BYTES // 2**20} MiB)")
    parser.set_defaults(func=run)


def print_summary(summary: ImportSummary) -> None:
    for row, reason in summary.rejected:
        print(f"row {row}: {reason}")
    mode = "dry run" if summary.dry_run else ("aborted, nothing loaded" if summary.aborted else "loaded")
    print(f"{summary.kind} {summary.file} ({summary.encoding}): {mode}")
    print(f"rows read {summary.rows_read} = loaded {summary.rows_loaded} + rejected {summary.rows_rejected}"
          f" + held back {summary.rows_held_back} (accepted {summary.rows_accepted})")
    if summary.rows_updated:
        done = "changed" if summary.rows_loaded else "would change"
        print(f"{summary.rows_updated} of the accepted rows {done} an operation already in the database "
              f"(name, machine or planned quantity; none has reports)")
    if summary.aborted:
        print("fix the rejected rows and run again: the load is all or nothing "
              "(rows already in the database are only skipped)")


async def run(args: argparse.Namespace) -> int:
    from bot.db import make_engine, make_session_factory, utcnow
    from bot.imports import run_import
    from bot.migrate import ensure_schema
    from bot.settings import load_settings

    settings = load_settings(args.config, needs={"database"})
    await ensure_schema(settings.database.url)
    engine = make_engine(settings.database.url)
    try:
        summary = await run_import(
            make_session_factory(engine), args.kind, args.file, tz=settings.plant.timezone,
            shifts=settings.calendar.shifts,
            plant_name=settings.plant.name, now=utcnow(), dry_run=args.dry_run, max_bytes=args.max_bytes,
            settings=settings)
    except ImportFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    print_summary(summary)
    return 1 if summary.aborted else 0
