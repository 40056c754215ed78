"""The `opsbot` command: each feature adds its subcommands in its own module, listed here in order."""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot.cli import db as db_cmd
from bot.cli import demo as demo_cmd
from bot.cli import equipment as equipment_cmd
from bot.cli import imports as imports_cmd
from bot.cli import kpi as kpi_cmd
from bot.cli import qr as qr_cmd
from bot.cli import reports as reports_cmd
from bot.cli import serve as serve_cmd
from bot.settings_schema import SettingsError

COMMAND_MODULES = [serve_cmd, db_cmd, demo_cmd, imports_cmd, kpi_cmd, equipment_cmd, qr_cmd, reports_cmd]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="opsbot", description="WeCom operations bot for factories")
    parser.add_argument("--config", help="TOML file (else $OPSBOT_CONFIG, else config/opsbot.toml, else demo)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("asyncua", "aiosqlite", "apscheduler", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        result = args.func(args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        return int(result or 0)
    except SettingsError as exc:
        for problem in exc.problems:
            print(f"config error: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
