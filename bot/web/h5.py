"""H5 pages opened inside WeCom: identity through WeCom OAuth, kept in a signed cookie; QR links land here."""
from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Services
from bot.models import User
from bot.router import H5Route

if TYPE_CHECKING:
    from bot.qr import QrPayload

log = logging.getLogger(__name__)
COOKIE = "opsbot_h5"
COOKIE_MAX_AGE_S = 8 * 3600


@dataclass
class H5Context:
    services: Services
    request: web.Request
    session: AsyncSession
    user: User
    now: datetime
    qr: QrPayload | None = None

    def page(self, template: str, status: int = 200, **data: object) -> web.Response:
        html = self.services.templates.render(template, user=self.user, now=self.now, **data)
        return web.Response(text=html, status=status, content_type="text/html")


H5Handler = Callable[[H5Context], Awaitable[web.StreamResponse]]


class H5Gate:
    """Wraps feature pages: no cookie → WeCom OAuth → cookie → the page, with the role check first."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.serializer = URLSafeTimedSerializer(services.settings.server.session_secret, salt="h5")
        self.scan_pages: dict[str, H5Route] = {}

    def error_page(self, status: int, title: str, message: str) -> web.Response:
        html = self.services.templates.render("core/h5_error.html.j2", title=title, message=message)
        return web.Response(text=html, status=status, content_type="text/html")

    def current_userid(self, request: web.Request) -> str | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            return str(self.serializer.loads(raw, max_age=COOKIE_MAX_AGE_S))
        except BadSignature:
            return None

    def login_redirect(self, request: web.Request) -> web.Response:
        client = self.services.client
        if client is None:
            return self.error_page(503, "无法登录", "企业微信尚未配置，请联系管理员。")
        base = self.services.settings.server.base_url
        target = quote(request.rel_url.path_qs, safe="")
        redirect_uri = f"{base}/h5/oauth?next={target}"
        raise web.HTTPFound(client.oauth_authorize_url(redirect_uri, secrets.token_hex(8)))

    async def oauth_return(self, request: web.Request) -> web.Response:
        from integrations.wecom.errors import WeComError

        code, next_path = request.query.get("code", ""), request.query.get("next", "/")
        if urlsplit(next_path).netloc or not next_path.startswith("/"):
            next_path = "/"  # never an open redirect
        if not code or self.services.client is None:
            return self.error_page(400, "登录失败", "缺少授权码，请从企业微信重新打开页面。")
        try:
            identity = await self.services.client.oauth_identity(code)
        except WeComError as exc:
            log.warning("oauth failed: %s", exc)
            return self.error_page(403, "登录失败", "授权已过期或无效，请从企业微信重新打开页面。")
        if not identity.user_id:
            return self.error_page(403, "无法使用", "仅限本企业成员使用。")
        response = web.HTTPFound(next_path)
        response.set_cookie(COOKIE, self.serializer.dumps(identity.user_id), max_age=COOKIE_MAX_AGE_S,
                            httponly=True, samesite="Lax")
        raise response

    def wrap(self, route: H5Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def view(request: web.Request) -> web.StreamResponse:
            return await self.serve(request, route)
        return view

    async def serve(self, request: web.Request, route: H5Route, qr: QrPayload | None = None) -> web.StreamResponse:
        userid = self.current_userid(request)
        if userid is None:
            return self.login_redirect(request)
        services = self.services
        async with services.sessions() as session, session.begin():
            user = await session.scalar(select(User).where(User.wecom_userid == userid))
            if user is None or user.pending or not user.active:
                return self.error_page(403, "尚未开通", f"请联系{services.settings.plant.admin_contact}开通权限。")
            if services.dispatcher is not None and not services.dispatcher.allowed(route, user.roles):
                return self.error_page(403, "没有权限", "您的角色不能使用此页面。")
            ctx = H5Context(services, request, session, user, services.clock(), qr)
            return await route.handler(ctx)

    async def qr_landing(self, request: web.Request) -> web.StreamResponse:
        """A QR scanned with WeCom's own scanner opens this URL; the token decides which page serves it."""
        from bot.qr import QrError

        signer = self.services.qr
        if signer is None:
            return self.error_page(404, "二维码无效", "无法识别的二维码。")
        try:
            payload = signer.verify(request.match_info["token"], now=self.services.clock())
        except QrError as exc:
            log.warning("refused QR page %s: %s", request.path[:120], exc.reason)
            return self.error_page(400, "二维码无效", exc.message_zh)
        route = self.scan_pages.get(payload.kind)
        if route is None:
            return self.error_page(404, "暂不支持", "此类二维码暂时不能在页面中打开，请使用聊天中的扫一扫。")
        return await self.serve(request, route, payload)
