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
from yarl import URL

from bot.context import Services
from bot.models import User
from bot.router import H5Route
from bot.web.h5_tokens import LOGIN_COOKIE, LOGIN_TTL_S, FormKeys, LoginNonces

if TYPE_CHECKING:
    from bot.qr import QrPayload

log = logging.getLogger(__name__)
COOKIE = "opsbot_h5"
COOKIE_MAX_AGE_S = 8 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOGIN_COOKIE_PATH = "/h5/"  # every page that may start a login reads it, so two tabs' logins both stay valid


@dataclass
class H5Context:
    services: Services
    request: web.Request
    session: AsyncSession
    user: User
    now: datetime
    qr: QrPayload | None = None
    forms: FormKeys | None = None

    def page(self, template: str, status: int = 200, **data: object) -> web.Response:
        html = self.services.templates.render(template, user=self.user, now=self.now, **data)
        return web.Response(text=html, status=status, content_type="text/html")

    def form_key(self, purpose: str) -> str:
        """A key for the form being rendered, for this user and `purpose` (e.g. "report:12"), with expiry."""
        assert self.forms is not None
        return self.forms.issue(self.user.id, purpose, self.now)

    def check_form_key(self, key: str, purpose: str) -> str:
        """The nonce of a key issued by `form_key` for this user and purpose; TokenRefused otherwise."""
        assert self.forms is not None
        return self.forms.check(key, self.user.id, purpose, self.now)


H5Handler = Callable[[H5Context], Awaitable[web.StreamResponse]]


class H5Gate:
    """Wraps feature pages: no cookie → WeCom OAuth → cookie → the page, with the role check first."""

    def __init__(self, services: Services) -> None:
        self.services = services
        # An app built without the config check must not sign with an empty (so public) key: cookies then last
        # only as long as the process, which is still better than forgeable.
        secret = services.settings.server.session_secret or secrets.token_urlsafe(32)
        self.serializer = URLSafeTimedSerializer(secret, salt="h5")
        self.forms = FormKeys(secret)
        self.logins = LoginNonces(secret)
        self.scan_pages: dict[str, H5Route] = {}

    @property
    def secure_cookies(self) -> bool:
        """Behind https the cookies must never travel in clear (the public URL may change after start-up)."""
        return self.services.settings.server.base_url.startswith("https://")

    def same_origin(self, request: web.Request) -> bool:
        """A state-changing request must come from our own pages: Origin, or Referer where Origin is absent."""
        claimed = request.headers.get("Origin") or request.headers.get("Referer") or ""
        try:
            theirs, ours = URL(claimed), URL(self.services.settings.server.base_url)
            return bool(theirs.host) and (theirs.scheme, theirs.host, theirs.port) == (
                ours.scheme, ours.host, ours.port)
        except (ValueError, TypeError):
            return False

    def _store_logins(self, response: web.StreamResponse, pairs: list[list[object]]) -> None:
        if pairs:
            response.set_cookie(LOGIN_COOKIE, self.logins.cookie_value(pairs, self.services.clock()),
                                max_age=LOGIN_TTL_S, path=LOGIN_COOKIE_PATH, httponly=True, samesite="Lax",
                                secure=self.secure_cookies)
        else:
            response.del_cookie(LOGIN_COOKIE, path=LOGIN_COOKIE_PATH)

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

    def login_redirect(self, request: web.Request, next_path: str | None = None) -> web.Response:
        client = self.services.client
        if client is None:
            return self.error_page(503, "无法登录", "企业微信尚未配置，请联系管理员。")
        base = self.services.settings.server.base_url
        target = quote(next_path or request.rel_url.path_qs, safe="")
        redirect_uri = f"{base}/h5/oauth?next={target}"
        now = self.services.clock()
        state, pairs = self.logins.add(self.logins.live(request.cookies.get(LOGIN_COOKIE), now), now)
        response = web.HTTPFound(client.oauth_authorize_url(redirect_uri, state))
        self._store_logins(response, pairs)  # binds `state` to this browser: login CSRF needs another's
        raise response

    async def fresh_login(self, request: web.Request) -> web.Response:
        """`/h5/login?next=…`: a new WeCom login even with a session (switching members in the sandbox's phone,
        or after an admin changed one's account); harmless cross-site, it only logs the browser in as itself."""
        next_path = request.query.get("next", "/")
        return self.login_redirect(request, next_path if _local_path(next_path) else "/")

    async def oauth_return(self, request: web.Request) -> web.Response:
        code, next_path = request.query.get("code", ""), request.query.get("next", "/")
        if not _local_path(next_path):
            next_path = "/"  # never an open redirect
        left = self.logins.take(self.logins.live(request.cookies.get(LOGIN_COOKIE), self.services.clock()),
                                request.query.get("state", ""))
        if left is None:  # not a login this browser started (login CSRF), already used, or older than 10 min
            log.warning("oauth return refused from %s: state not issued to this browser", request.remote)
            return self.error_page(403, "登录失败", "登录链接已失效，请从企业微信重新打开页面。")
        response = await self._finish_login(code, next_path)
        self._store_logins(response, left)  # single use: the state is gone from the cookie
        return response

    async def _finish_login(self, code: str, next_path: str) -> web.Response:
        from integrations.wecom.errors import WeComError

        if not code or self.services.client is None:
            return self.error_page(400, "登录失败", "缺少授权码，请从企业微信重新打开页面。")
        try:
            identity = await self.services.client.oauth_identity(code)
        except WeComError as exc:
            log.warning("oauth failed: %s", exc)
            return self.error_page(403, "登录失败", "授权已过期或无效，请从企业微信重新打开页面。")
        if not identity.user_id:
            return self.error_page(403, "无法使用", "仅限本企业成员使用。")
        response = web.Response(status=302, headers={"Location": next_path})
        response.set_cookie(COOKIE, self.serializer.dumps(identity.user_id), max_age=COOKIE_MAX_AGE_S,
                            httponly=True, samesite="Lax", secure=self.secure_cookies)
        return response

    def wrap(self, route: H5Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def view(request: web.Request) -> web.StreamResponse:
            return await self.serve(request, route)
        return view

    async def serve(self, request: web.Request, route: H5Route, qr: QrPayload | None = None) -> web.StreamResponse:
        if request.method not in SAFE_METHODS and not self.same_origin(request):
            log.warning("refused %s %s from %s: origin %r", request.method, request.path[:120], request.remote,
                        (request.headers.get("Origin") or request.headers.get("Referer") or "")[:120])
            return self.error_page(403, "请求被拒绝", "请在企业微信中打开页面后再提交。")
        if route.public:  # no login, no database: the handler checks its own signed credentials (ctx.user and
            # ctx.session are None), e.g. a signed media URL a gated page issued; POSTs still pass the origin check
            return await route.handler(H5Context(self.services, request, None, None,  # type: ignore[arg-type]
                                                 self.services.clock(), qr, self.forms))
        userid = self.current_userid(request)
        if userid is None:
            return self.login_redirect(request)
        services = self.services
        async with services.sessions() as session, session.begin():
            user = await session.scalar(select(User).where(User.wecom_userid == userid))
            if user is None or user.pending or not user.active:
                return self.error_page(403, "尚未开通", f"请联系{services.settings.plant.admin_contact}开通权限。")
            if services.dispatcher is not None and not services.dispatcher.allowed(route, user):
                return self.error_page(403, "没有权限", "您的角色不能使用此页面。")
            ctx = H5Context(services, request, session, user, services.clock(), qr, self.forms)
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


def _local_path(path: str) -> bool:
    """A path on this site: printable ASCII (what `login_redirect` quoted), no host, no `//` or `\\` tricks."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return False
    if any(not 0x21 <= ord(ch) <= 0x7E for ch in path):
        return False
    return not urlsplit(path).netloc
