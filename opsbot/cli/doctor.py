"""`opsbot doctor`: commissioning checks with one line each and a hint; exit code 1 when any check fails."""
from __future__ import annotations

import argparse

from bot.settings import load_settings
from bot.settings_schema import SettingsError

SERVE_NEEDS = {"wecom", "database", "qr", "server"}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    doctor = sub.add_parser("doctor", help="check config, database, WeCom, callback URL, OAuth domain, OPC UA, fonts")
    doctor.add_argument("--demo", action="store_true", help="check the demo's setup (accepts its demo-only secrets)")
    doctor.set_defaults(func=run)


async def run(args: argparse.Namespace) -> int:
    from opsbot.doctor import FAIL, run_checks

    try:
        settings = load_settings(args.config, needs=SERVE_NEEDS | ({"demo"} if args.demo else set()))
    except SettingsError as exc:
        for problem in exc.problems:
            print(f"[{FAIL:>4}] config: {problem}")
        return 1
    findings = await run_checks(settings)
    for finding in findings:
        print(finding.line(), flush=True)
    failed = sum(1 for f in findings if f.status == FAIL)
    print(f"{failed} of {len(findings)} checks failed" if failed else f"all {len(findings)} checks passed")
    return 1 if failed else 0
