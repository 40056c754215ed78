"""The `opsbot` command: each feature adds its subcommands in its own module, listed here in order."""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot.settings_schema import SettingsError
from opsbot.cli import db as db_cmd
from opsbot.cli import demo as demo_cmd
from opsbot.cli import doctor as doctor_cmd
from opsbot.cli import equipment as equipment_cmd
from opsbot.cli import imports as imports_cmd
from opsbot.cli import issues as issues_cmd
from opsbot.cli import kpi as kpi_cmd
from opsbot.cli import patrols as patrols_cmd
from opsbot.cli import qr as qr_cmd
from opsbot.cli import reports as reports_cmd
from opsbot.cli import review as review_cmd
from opsbot.cli import serve as serve_cmd
from opsbot.cli import training as training_cmd
from opsbot.cli import wecom as wecom_cmd

COMMAND_MODULES = [serve_cmd, db_cmd, demo_cmd, doctor_cmd, imports_cmd, kpi_cmd, equipment_cmd, qr_cmd,
                   reports_cmd, patrols_cmd, wecom_cmd, training_cmd, issues_cmd,
                   review_cmd]


CONFIG_HELP = "TOML file (else $OPSBOT_CONFIG, else config/opsbot.toml, else demo)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="opsbot", description="WeCom operations bot for factories")
    parser.add_argument("--config", help=CONFIG_HELP)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(sub)
    _common_options_everywhere(parser)
    return parser


def _common_options_everywhere(parser: argparse.ArgumentParser) -> None:
    """`--config` and `-v` also after the subcommand (`opsbot db upgrade --config FILE`), as the README says;
    SUPPRESS keeps a subcommand's absent option from hiding the one given before it."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for child in set(action.choices.values()):
            options = {opt for a in child._actions for opt in a.option_strings}
            if "--config" not in options:
                child.add_argument("--config", default=argparse.SUPPRESS, help=CONFIG_HELP)
            if "--verbose" not in options and "-v" not in options:
                child.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                                   help="debug logging")
            _common_options_everywhere(child)


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
