"""What the proxy and Prometheus ask: /healthz (the process answers), /readyz (it can do its work: database
reachable, schema at the newest migration; 503 otherwise) and /metrics (Prometheus text, never public)."""
from __future__ import annotations

import asyncio
import hmac
import logging
from functools import lru_cache

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot import metrics
from bot.context import Services

log = logging.getLogger(__name__)
READY_TIMEOUT_S = 2.0


@lru_cache(maxsize=1)
def migration_head() -> str | None:
    """The newest revision of bot/migrations (read once: it only changes with a new release)."""
    from alembic.script import ScriptDirectory

    from bot.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def readyz(services: Services) -> web.Handler:
    async def ready(request: web.Request) -> web.Response:
        problems = await readiness_problems(services)
        return web.json_response({"ready": not problems, "problems": problems}, status=503 if problems else 200)
    return ready


async def readiness_problems(services: Services) -> list[str]:
    """Empty when ready; each problem a short line a proxy log or an operator can act on."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_S), services.sessions() as session:
            await session.execute(text("SELECT 1"))
            try:
                async with session.begin_nested():
                    current = await session.scalar(text("SELECT version_num FROM alembic_version"))
            except SQLAlchemyError:
                current = None
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        return [f"database unreachable: {type(exc).__name__}"]
    head = migration_head()
    if current != head:
        return [f"schema at {current or 'no migration'}, code expects {head}: run opsbot db upgrade"]
    return []


def metrics_page(services: Services, token: str = "") -> web.Handler:
    """/metrics; with `token` only for `Authorization: Bearer <token>` (404 otherwise: nothing to discover)."""
    async def page(request: web.Request) -> web.Response:
        if token:
            given = request.headers.get("Authorization", "").removeprefix("Bearer ").encode()
            if not hmac.compare_digest(given, token.encode()):
                raise web.HTTPNotFound()
        try:
            async with asyncio.timeout(READY_TIMEOUT_S), services.sessions() as session:
                await metrics.refresh_queue(session, services.clock())
        except (SQLAlchemyError, OSError, TimeoutError) as exc:  # the rest of the figures are still worth having
            log.warning("metrics: outbox figures not read: %s", type(exc).__name__)
        return web.Response(body=metrics.exposition(), headers={"Content-Type": metrics.CONTENT_TYPE})
    return page


def metrics_app(services: Services) -> web.Application:
    """The separate listener's app: /metrics alone (bind it to a private address)."""
    app = web.Application()
    app.router.add_get("/metrics", metrics_page(services))
    return app
