"""WeCom's OAuth authorize page: identifies the acting member and redirects back with a one-time code."""

from __future__ import annotations

import html
import re
import secrets

from aiohttp import web
from yarl import URL

from integrations.wecom.sandbox.state import SandboxState

STATE_PATTERN = re.compile(r"[A-Za-z0-9]{0,128}")
USER_COOKIE = "sandbox_user"


def error_page(errcode: int, errmsg: str) -> web.Response:
    """WeCom shows an error page in the browser instead of redirecting."""
    body = (
        "<!doctype html><html><head><meta charset='utf-8'><title>WeCom OAuth error</title></head><body>"
        f"<p class='errcode'>errcode: {errcode}</p><p class='errmsg'>{html.escape(errmsg)}</p></body></html>"
    )
    return web.Response(status=400, text=body, content_type="text/html", headers={"X-Errcode": str(errcode)})


def routes(state: SandboxState) -> list[web.RouteDef]:
    """The authorize route, bound to one sandbox state."""
    config = state.config

    async def authorize(request: web.Request) -> web.StreamResponse:
        query = request.query
        if query.get("appid") != config.corp_id:
            return error_page(40013, "invalid appid (corpid)")
        if query.get("response_type") != "code":
            return error_page(40058, "response_type must be code")
        if query.get("scope") not in ("snsapi_base", "snsapi_privateinfo"):
            return error_page(40058, "invalid scope")
        agentid = query.get("agentid")
        if agentid not in (None, "", str(config.agent_id)):
            return error_page(40056, "invalid agentid")
        oauth_state = query.get("state", "")
        if not STATE_PATTERN.fullmatch(oauth_state):
            return error_page(40058, "state must be at most 128 letters or digits")
        try:
            redirect = URL(query.get("redirect_uri", ""))
        except ValueError:
            return error_page(40058, "invalid redirect_uri")
        if redirect.scheme not in ("http", "https") or not redirect.host:
            return error_page(40058, "invalid redirect_uri")
        if redirect.host not in config.trusted_domains:
            return error_page(50001, "redirect_uri is not in the app's trusted domain")
        userid = query.get(USER_COOKIE) or request.cookies.get(USER_COOKIE)
        if not userid:
            return error_page(40058, "no acting member: set the sandbox_user cookie or query parameter")
        code = secrets.token_urlsafe(24)
        state.oauth_codes[code] = (userid, state.now())
        location = str(redirect.update_query(code=code, state=oauth_state))
        response = web.Response(status=302, headers={"Location": location})
        response.set_cookie(USER_COOKIE, userid, httponly=False, samesite="Lax")
        return response

    return [web.get("/connect/oauth2/authorize", authorize)]
