"""The bot's root page: what is running and where to go next (phone simulator, QR labels, docs)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.context import Services


def landing_page(services: Services) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The page's handler, bound to the services it describes."""
    async def landing(request: web.Request) -> web.Response:
        settings = services.settings
        dispatcher = services.dispatcher
        html = services.templates.render(
            "core/landing.html.j2", plant=settings.plant, server=settings.server,
            sandbox_url=services.sandbox_url, simulator_url=services.simulator_url,
            routes=dispatcher.describe() if dispatcher else [], database=settings.database.url.split("://")[0],
            api_base=settings.wecom.api_base)
        return web.Response(text=html, content_type="text/html")
    return landing
