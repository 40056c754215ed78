"""`opsbot db upgrade`: bring the database schema to the current version."""
from __future__ import annotations

import argparse

from bot.migrate import upgrade_sync
from bot.settings import load_settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="apply migrations (safe to repeat)")
    up.add_argument("--revision", default="head")
    up.set_defaults(func=run_upgrade)


def run_upgrade(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, needs={"database"})
    upgrade_sync(settings.database.url, args.revision)
    print(f"database at {args.revision}: {settings.database.url.split('://')[0]}")
    return 0
