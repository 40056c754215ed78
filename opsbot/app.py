"""Assembles the aiohttp application: database, WeCom client, outbox sender, scheduler, routes.

The assembly is the one place that knows every layer: the core (bot/), the feature handlers and jobs, and the
WeCom integration. Nothing in bot/ imports it, so the core stays free of the features built on it.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import aiohttp
from aiohttp import web

from bot import metrics
from bot.context import Services
from bot.db import make_engine, make_session_factory, utcnow
from bot.inbound import InboundProcessor
from bot.issues.digest_delivery import producers as issue_digest_producers
from bot.kpi.charts import PRODUCER as KPI_CHART
from bot.kpi.charts import chart_producer
from bot.outbox import OutboxSender
from bot.review.delivery import producers as review_producers
from bot.router import SCAN_PAGE_PREFIX, Dispatcher, Router
from bot.settings import Settings
from bot.templates import Templates
from bot.token_store import DatabaseTokenStore
from bot.training.video_message import producers as training_video_producers
from bot.web.callback import CallbackView
from bot.web.h5 import H5Gate
from bot.web.health import healthz, metrics_app, metrics_page, readyz
from bot.web.keys import SERVICES
from bot.web.landing import landing_page
from bot.web.malformed import quiet_malformed_requests
from handlers import ROUTERS
from jobs import JOBS

log = logging.getLogger(__name__)
SENDER = web.AppKey("sender", OutboxSender)
__all__ = ["SENDER", "SERVICES", "build_services", "create_app", "default_routers"]


def default_routers() -> list[Router]:
    """Feature routers in the order they are asked; the first match wins."""
    return list(ROUTERS)


def build_services(settings: Settings, clock: Callable[[], datetime] = utcnow) -> Services:
    engine = make_engine(settings.database.url)
    services = Services(settings=settings, sessions=make_session_factory(engine),
                        templates=Templates(settings.tz), clock=clock, engine=engine)
    if settings.qr.secret:
        from bot.qr import QrSigner

        services.qr = QrSigner(settings.qr.secret, settings.server.base_url)
    return services


def create_app(settings: Settings, *, routers: list[Router] | None = None,
               clock: Callable[[], datetime] = utcnow, run_sender: bool = True,
               run_scheduler: bool = True) -> web.Application:
    quiet_malformed_requests()
    app = web.Application(client_max_size=settings.wecom.max_body_bytes + 1024)
    services = build_services(settings, clock)
    services.dispatcher = Dispatcher(routers if routers is not None else default_routers())
    app[SERVICES] = services
    processor = InboundProcessor(services)
    app.on_cleanup.append(lambda _app: processor.close())
    view = CallbackView(settings.wecom, processor)
    gate = H5Gate(services)
    app.router.add_get("/wecom/callback", view.verify)
    app.router.add_post("/wecom/callback", view.receive)
    app.router.add_get("/h5/oauth", gate.oauth_return)
    app.router.add_get("/h5/login", gate.fresh_login)
    app.router.add_get("/h5/q/{token}", gate.qr_landing)
    for route in services.dispatcher.h5_routes:
        if route.path.startswith(SCAN_PAGE_PREFIX):
            kind = route.path.removeprefix(SCAN_PAGE_PREFIX)
            if kind in gate.scan_pages:
                raise ValueError(f"two H5 pages for QR kind {kind!r}: {gate.scan_pages[kind].name}, {route.name}")
            gate.scan_pages[kind] = route
        else:
            app.router.add_route(route.method, route.path, gate.wrap(route))
    app.router.add_get("/", landing_page(services))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz(services))
    if settings.feature("metrics").token:  # else /metrics is only on its own listener, if one is configured
        app.router.add_get("/metrics", metrics_page(services, settings.feature("metrics").token))
    if settings.feature("metrics").port:
        app.cleanup_ctx.append(_metrics_listener)
    app.on_startup.append(_report_content_problems)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_wecom_client)
    if run_sender:
        app.cleanup_ctx.append(_outbox_sender)
    if run_scheduler:
        app.cleanup_ctx.append(_scheduler)
    return app


async def _report_content_problems(app: web.Application) -> None:
    """Content a plant edits without code is checked at start, one warning line per problem, so a broken
    catalog entry is seen in the log the day it is written (`opsbot training check` shows the same lines)."""
    from bot.training.catalog import load_catalog

    training = app[SERVICES].settings.feature("training")
    for problem in load_catalog(training.catalog_path, training.media_path).problems:
        log.warning("training catalog: %s", problem)


async def _database(app: web.Application) -> AsyncIterator[None]:
    yield
    engine = app[SERVICES].engine
    if engine is not None:
        await engine.dispose()


async def _wecom_client(app: web.Application) -> AsyncIterator[None]:
    from integrations.wecom.client import WeComClient
    from integrations.wecom.limits import SendLimiter

    services = app[SERVICES]
    wecom = services.settings.wecom
    async with aiohttp.ClientSession() as http:
        services.client = WeComClient(
            http, corp_id=wecom.corp_id, secret=wecom.secret, agent_id=wecom.agent_id,
            api_base=wecom.api_base, oauth_base=wecom.oauth_base,
            token_store=DatabaseTokenStore(services.sessions, on_fetch=metrics.token_fetched),
            limiter=SendLimiter(per_member_per_minute=services.settings.outbox.per_member_per_minute,
                                requests_per_second=services.settings.outbox.requests_per_second),
            on_error=metrics.wecom_error)
        yield


async def _outbox_sender(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    assert services.client is not None
    # Media steps name their producer; the sender runs it, uploads the file and sends, once.
    sender = OutboxSender(services.sessions, services.client, services.settings.outbox,
                          services.outbox_wakeup, services.clock, producers={KPI_CHART: chart_producer(
                              services.sessions, services.settings, services.templates.content_dir),
                              **issue_digest_producers(services.sessions, services.settings),
                              **review_producers(services.sessions, services.settings),
                              **training_video_producers(services.settings)})
    app[SENDER] = sender
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop), name="outbox-sender")
    yield
    stop.set()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=10)


async def _metrics_listener(app: web.Application) -> AsyncIterator[None]:
    """/metrics on `[metrics] host:port`, apart from the public port the proxy forwards."""
    services = app[SERVICES]
    config = services.settings.feature("metrics")
    runner = web.AppRunner(metrics_app(services), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, config.host, config.port).start()
    log.info("metrics on http://%s:%d/metrics", config.host, config.port)
    yield
    await runner.cleanup()


async def _scheduler(app: web.Application) -> AsyncIterator[None]:
    from bot.scheduler import JobRunner

    services = app[SERVICES]
    runner = JobRunner(services, JOBS)
    runner.start()
    yield
    await runner.shutdown()
    equipment = services.equipment
    if equipment is not None:  # collectors started by the polling job write their last counts before exit
        await equipment.stop()
