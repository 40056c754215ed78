"""The phone simulator: a WeCom-like chat page served by the sandbox (plain HTML/CSS/JS, no build step)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aiohttp import web

if TYPE_CHECKING:
    from integrations.wecom.sandbox.app import Sandbox

STATIC_DIR = Path(__file__).resolve().parent / "static"
NO_CACHE = {"Cache-Control": "no-cache"}


def bot_base_url(sandbox: Sandbox) -> str:
    """The bot's origin, taken from the callback URL WeCom was told (`…/wecom/callback`)."""
    callback = sandbox.config.callback_url or ""
    parts = urlsplit(callback)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def mount_phone(sandbox: Sandbox) -> None:
    """Adds GET /phone (and / redirecting there), its assets and two lookups to `sandbox.app`; call before start."""

    async def page(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "phone.html", headers=NO_CACHE)

    async def config(request: web.Request) -> web.Response:
        cfg = sandbox.config
        return web.json_response({"corp_id": cfg.corp_id, "agent_id": cfg.agent_id,
                                  "bot_url": bot_base_url(sandbox)}, headers=NO_CACHE)

    async def task_of(request: web.Request) -> web.Response:
        """The card a response_code belongs to, so the page knows which card an update_template_card changes."""
        code = sandbox.state.response_codes.get(request.query.get("response_code", ""))
        if code is None:
            raise web.HTTPNotFound()
        return web.json_response({"task_id": code.task_id})

    async def menu(request: web.Request) -> web.Response:
        """The app menu as menu/create installed it (404 before any), for the phone's menu bar."""
        if sandbox.state.menu is None:
            raise web.HTTPNotFound()
        return web.json_response(sandbox.state.menu, headers=NO_CACHE)

    async def home(request: web.Request) -> web.Response:
        raise web.HTTPFound("/phone")

    sandbox.app.router.add_get("/", home)
    sandbox.app.router.add_get("/phone", page)
    sandbox.app.router.add_get("/phone/config.json", config)
    sandbox.app.router.add_get("/phone/api/task", task_of)
    sandbox.app.router.add_get("/phone/menu.json", menu)
    sandbox.app.router.add_static("/phone/static/", STATIC_DIR, append_version=False)
