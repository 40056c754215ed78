"""`opsbot serve` (the bot) and `opsbot sandbox` (the fake WeCom alone): long-running servers."""
from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import signal

from aiohttp import web

from bot.settings import Settings, load_settings

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = sub.add_parser("serve", help="run the bot (callback URL, H5 pages, outbox sender, jobs)")
    serve.add_argument("--port", type=int, help="override [server] port")
    serve.set_defaults(func=run_serve)
    sandbox = sub.add_parser("sandbox", help="run the WeCom sandbox alone")
    sandbox.add_argument("--port", type=int, help="override [sandbox] port")
    sandbox.set_defaults(func=run_sandbox)


async def start_site(app: web.Application, host: str, port: int, what: str) -> web.AppRunner:
    """Starts an app on host:port; a busy port becomes one clear line instead of a traceback."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        if exc.errno == errno.EADDRINUSE:
            raise SystemExit(f"error: port {port} on {host} is already in use ({what}); "
                             f"stop the other program or choose another port in the config") from None
        raise SystemExit(f"error: cannot listen on {host}:{port} for {what}: {exc.strerror}") from None
    return runner


async def wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve_bot(settings: Settings) -> int:
    from opsbot.app import create_app

    runner = await start_site(create_app(settings), settings.server.host, settings.server.port, "bot")
    print(f"opsbot listening on {settings.server.base_url} (callback {settings.server.base_url}/wecom/callback)")
    try:
        await wait_for_signal()
    finally:
        await runner.cleanup()
    return 0


def run_serve(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, needs={"wecom", "database", "qr", "server"})
    if args.port:
        settings.server.port = args.port
    return asyncio.run(serve_bot(settings))


async def load_directory(settings: Settings) -> dict[str, str]:
    """The corp directory the sandbox pretends to have: every opsbot user, when the database has them."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from bot.db import make_engine, make_session_factory
    from bot.models import User

    engine = make_engine(settings.database.url)
    try:
        async with make_session_factory(engine)() as session:
            rows = (await session.execute(select(User.wecom_userid, User.name))).all()
        return {userid: name or userid for userid, name in rows}
    except SQLAlchemyError:
        return {}
    finally:
        await engine.dispose()


def sandbox_config(settings: Settings, users: dict[str, str]) -> object:
    from integrations.wecom.sandbox import SandboxConfig

    wecom = settings.wecom
    return SandboxConfig(corp_id=wecom.corp_id, agent_id=wecom.agent_id, secret=wecom.secret, token=wecom.token,
                         encoding_aes_key=wecom.encoding_aes_key,
                         callback_url=f"{settings.server.base_url}/wecom/callback",
                         trusted_domains=["127.0.0.1", "localhost", settings.server.host], users=users)


async def serve_sandbox(settings: Settings) -> int:
    from integrations.wecom.sandbox import Sandbox

    sandbox = Sandbox(sandbox_config(settings, await load_directory(settings)))  # type: ignore[arg-type]
    await start_site(sandbox.app, settings.sandbox.host, settings.sandbox.port, "sandbox")
    print(f"WeCom sandbox on http://{settings.sandbox.host}:{settings.sandbox.port}")
    await wait_for_signal()
    return 0


def run_sandbox(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, needs={"wecom"})
    if args.port:
        settings.sandbox.port = args.port
    return asyncio.run(serve_sandbox(settings))
