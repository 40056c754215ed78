"""`opsbot demo`: the whole demo (seeded plant, bot, WeCom sandbox with phone simulator, OPC UA) in one process."""
from __future__ import annotations

import argparse
import asyncio
import functools

from bot.settings import load_settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    demo = sub.add_parser("demo", help="run the demo: bot, WeCom sandbox + phone simulator, OPC UA simulator")
    demo.add_argument("--port", type=int, help="override [server] port (the bot)")
    demo.add_argument("--sandbox-port", type=int, help="override [sandbox] port (phone simulator)")
    demo.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from opsbot.demo.runner import run_demo

    # "demo": the demo's own published secrets are accepted here only (it always talks to its own sandbox)
    settings = load_settings(args.config, needs={"wecom", "database", "qr", "server", "demo"})
    if args.port:
        settings.server.port = args.port
        settings.server.public_url = ""  # follow the new port
    if args.sandbox_port:
        settings.sandbox.port = args.sandbox_port
    return asyncio.run(run_demo(settings, announce=functools.partial(print, flush=True)))
