"""The bot's root page: what is running and where to go next (phone simulator, QR labels, docs)."""
from __future__ import annotations

from aiohttp import web


async def landing(request: web.Request) -> web.Response:
    from bot.app import SERVICES

    services = request.app[SERVICES]
    settings = services.settings
    dispatcher = services.dispatcher
    html = services.templates.render(
        "core/landing.html.j2", plant=settings.plant, server=settings.server,
        sandbox_url=services.extras.get("sandbox_url"), simulator_url=services.extras.get("simulator_url"),
        routes=dispatcher.describe() if dispatcher else [], database=settings.database.url.split("://")[0],
        api_base=settings.wecom.api_base)
    return web.Response(text=html, content_type="text/html")
