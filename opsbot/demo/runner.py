"""`opsbot demo`: database, seed, WeCom sandbox + phone simulator, bot and OPC UA simulator as one group."""
from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.context import Services
from bot.migrate import ensure_schema
from bot.settings import DemoSettings, Settings
from opsbot.demo.seed import SeedResult, seed_if_empty

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)


@dataclass
class DemoUrls:
    phone: str
    bot: str
    labels: str
    docs: str
    sandbox: str
    opcua: str | None = None

    def lines(self) -> list[str]:
        rows = [("Phone simulator", self.phone), ("Landing page", self.bot + "/"), ("QR labels", self.labels),
                ("Docs", self.docs), ("WeCom sandbox", self.sandbox)]
        if self.opcua:
            rows.append(("OPC UA simulator", self.opcua))
        return [f"  {name:<17}{url}" for name, url in rows]


async def seed(settings: Settings) -> SeedResult:
    """The demo plant, then a month of history behind it so KPIs and charts mean something at once."""
    from bot.db import make_engine, make_session_factory, utcnow
    from opsbot.demo.history import configure_review, seed_history

    engine = make_engine(settings.database.url)
    sessions = make_session_factory(engine)
    try:
        result = await seed_if_empty(sessions, utcnow(), settings.tz)
        if result.seeded:
            async with sessions.begin() as session:
                history = await seed_history(session, utcnow(), settings.calendar.shifts)
                result.counts.update({f"history {k}": v for k, v in history.items()})
                from opsbot.demo.training import seed_training

                result.counts.update(await seed_training(session, settings, utcnow()))
                from opsbot.demo.issues import seed_issues

                result.counts.update(await seed_issues(session, settings, utcnow()))
                from opsbot.demo.patrols import seed_patrols

                result.counts.update(await seed_patrols(session, settings, utcnow()))
        else:
            from opsbot.demo.training import demo_catalog

            demo_catalog(settings)  # the clips live in var/, which a fresh checkout lacks
        async with sessions() as session:
            await configure_review(session, settings)  # the demo's [review] baseline: the history's first month
        return result
    finally:
        await engine.dispose()


async def machine_specs(settings: Settings) -> list[tuple[str, float]]:
    """(code, ideal cycle time) of every machine in the database, for the OPC UA simulator."""
    from sqlalchemy import select

    from bot.db import make_engine, make_session_factory
    from bot.models import Machine

    engine = make_engine(settings.database.url)
    try:
        async with make_session_factory(engine)() as session:
            rows = (await session.execute(select(Machine.code, Machine.ideal_cycle_time_s)
                                          .order_by(Machine.code))).all()
        return [(code, float(cycle)) for code, cycle in rows]
    finally:
        await engine.dispose()


def demo_app(settings: Settings) -> web.Application:
    """The bot with the demo's showcase router and public pages (labels, docs, phone feeds)."""
    from handlers.demo import router as demo_router
    from opsbot.app import create_app, default_routers
    from opsbot.demo.pages import mount_demo_pages

    app = create_app(settings, routers=[*default_routers(), demo_router])
    mount_demo_pages(app)
    return app


async def start_opcua(settings: Settings, demo: DemoSettings) -> tuple[str, Callable[[], Awaitable[None]]] | None:
    """Starts the plant simulator (when the OPC UA integration is installed) and points [equipment] at it."""
    from opsbot.demo.equipment import wire_equipment

    try:
        from integrations.opcua.simulator import PlantSimulator, SimMachine
    except ImportError:
        return None
    specs = await machine_specs(settings)
    machines = [SimMachine(code=code, cycle_time_s=round(cycle * 1.15, 2)) for code, cycle in specs]
    if not machines:
        return None
    # Its "no security policy" warnings are intended here, and a failed start is reported below in one line.
    logging.getLogger("asyncua.server.server").setLevel(logging.CRITICAL)
    endpoint = f"opc.tcp://{demo.opcua_host}:{demo.opcua_port}/opsbot/"
    simulator = PlantSimulator(machines, endpoint=endpoint, speed=demo.simulator_speed)
    try:
        await simulator.start()
    except OSError as exc:
        with contextlib.suppress(Exception):
            await simulator.stop()
        reason = "is already in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc.strerror})"
        raise SystemExit(f"error: port {demo.opcua_port} on {demo.opcua_host} {reason} (OPC UA simulator); "
                         f"stop the other program or choose another [demo] opcua_port") from None
    try:
        wire_equipment(settings, simulator, endpoint, [code for code, _ in specs])
    except BaseException:
        await simulator.stop()
        raise
    return endpoint, simulator.stop


async def run_demo(settings: Settings, stop: asyncio.Event | None = None,
                   announce: Callable[[str], Any] = print) -> int:
    """Runs until `stop` is set (by default on SIGINT/SIGTERM); cleans up whatever had started."""
    from integrations.wecom.sandbox import Sandbox
    from integrations.wecom.sandbox.phone import mount_phone
    from opsbot.app import SERVICES
    from opsbot.cli.serve import load_directory, sandbox_config, start_site

    if stop is None:  # Ctrl-C and SIGTERM stop the group; handled from the start, so none is ever lost
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    demo = settings.demo
    sandbox_url = f"http://{settings.sandbox.host}:{settings.sandbox.port}"
    settings.wecom.api_base = settings.wecom.oauth_base = sandbox_url  # the demo always talks to its sandbox
    await ensure_schema(settings.database.url)
    if demo.seed:
        result = await seed(settings)
        counts = ", ".join(f"{n} {name}" for name, n in result.counts.items())
        announce(("seeded the demo plant: " if result.seeded else "database kept: ") + counts)
    sandbox = Sandbox(sandbox_config(settings, await load_directory(settings)))  # type: ignore[arg-type]
    mount_phone(sandbox)
    cleanups: list[Callable[[], Awaitable[None]]] = []
    try:
        sandbox_runner = await start_site(sandbox.app, settings.sandbox.host, settings.sandbox.port, "sandbox")
        sandbox.base_url = sandbox_url
        cleanups.append(sandbox_runner.cleanup)
        opcua = await start_opcua(settings, demo) if demo.opcua else None
        if opcua is not None:
            cleanups.append(opcua[1])
        app = demo_app(settings)  # after the simulator: its machines are now in [equipment]
        app[SERVICES].sandbox_url = sandbox_url
        app[SERVICES].simulator_url = opcua[0] if opcua is not None else None
        bot_runner = await start_site(app, settings.server.host, settings.server.port, "bot")
        cleanups.append(bot_runner.cleanup)
        await install_menu(app[SERVICES], settings)
        cleanups.append(functools.partial(_stop_collectors, app[SERVICES]))
        base = settings.server.base_url
        urls = DemoUrls(phone=f"{sandbox_url}/phone", bot=base, labels=f"{base}/labels",
                        docs=f"{base}/docs/quickstart", sandbox=sandbox_url, opcua=opcua[0] if opcua else None)
        announce(f"opsbot demo is running ({settings.plant.name}). Open the phone simulator first:")
        for line in urls.lines():
            announce(line)
        announce("Press Ctrl-C to stop.")
        await stop.wait()
        announce("stopping…")
    finally:
        for cleanup in reversed(cleanups):
            try:
                await cleanup()
            except Exception:  # one failing part must not keep the others running
                log.exception("error while stopping the demo")
    return 0


async def install_menu(services: Services, settings: Settings) -> None:
    """The demo app gets its menu (扫码报工, 我的, 更多) as `opsbot wecom menu` would install it in WeCom."""
    from bot.menu import load_menu
    from opsbot.cli.wecom import MENU_FILE

    if services.client is None:
        return
    try:
        await services.client.create_menu(load_menu(MENU_FILE, settings.server.base_url))
    except Exception:  # the demo runs without a menu rather than not at all
        log.exception("could not install the demo menu")


async def _stop_collectors(services: Services) -> None:
    """The equipment job starts its collectors lazily and the app does not stop them: stop them first."""
    if services.equipment is not None:
        await services.equipment.stop()
