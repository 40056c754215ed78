"""H5 pages: WeCom OAuth through the sandbox, a signed cookie after it, roles and QR landing pages."""
from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from bot.qr import QrPayload
from bot.router import Router
from bot.web.h5 import H5Context
from tests.conftest import Stack

pytestmark = pytest.mark.db


def pages() -> Router:
    router = Router("p")

    @router.h5("GET", "/h5/whoami", roles={"operator"})
    async def whoami(ctx: H5Context) -> web.Response:
        return web.Response(text=f"user={ctx.user.wecom_userid}")

    @router.scan_page("op", roles={"operator"})
    async def op_page(ctx: H5Context) -> web.Response:
        assert ctx.qr is not None
        return web.Response(text=f"op={ctx.qr.ids[0]}/{ctx.qr.ids[1]} user={ctx.user.wecom_userid}")

    return router


@pytest.fixture
def stack_routers() -> list[Router]:
    return [pages()]


@pytest.fixture
async def h5(stack: Stack) -> Stack:
    await stack.add_user("op1", "操作工甲", ["operator"])
    await stack.add_user("qc1", "质检丙", ["qc"])
    return stack


async def open_as(stack: Stack, userid: str, path: str) -> tuple[int, str, list[str]]:
    jar = aiohttp.CookieJar(unsafe=True)
    jar.update_cookies({"sandbox_user": userid}, URL(stack.sandbox.base_url))
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(f"{stack.bot_url}{path}") as resp:
            hops = [str(h.url) for h in resp.history]
            return resp.status, await resp.text(), hops


async def test_qr_page_logs_in_through_oauth_and_shows_the_payload(h5: Stack) -> None:
    signer = h5.services.qr
    assert signer is not None
    token = signer.token(QrPayload("op", ("WO-3", "10")))
    status, body, hops = await open_as(h5, "op1", f"/h5/q/{token}")
    assert status == 200, body
    assert any("/connect/oauth2/authorize" in hop for hop in hops)
    assert "op=WO-3/10 user=op1" in body


async def test_forged_qr_page_is_refused_in_chinese(h5: Stack) -> None:
    status, body, _ = await open_as(h5, "op1", "/h5/q/AAAAtampered")
    assert status == 400 and "二维码" in body


async def test_role_is_checked_on_pages(h5: Stack) -> None:
    signer = h5.services.qr
    assert signer is not None
    token = signer.token(QrPayload("op", ("WO-3", "10")))
    status, body, _ = await open_as(h5, "qc1", f"/h5/q/{token}")
    assert status == 403 and "权限" in body


async def test_oauth_return_with_a_bad_code_is_refused(h5: Stack) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{h5.bot_url}/h5/oauth", params={"code": "nope", "next": "/h5/whoami"},
                            allow_redirects=False) as resp:
            assert resp.status == 403 and "登录失败" in await resp.text()


async def test_oauth_return_never_redirects_off_site(h5: Stack) -> None:
    from bot.web.h5 import COOKIE

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:  # keeps the login state
        async with http.get(f"{h5.bot_url}/h5/whoami", allow_redirects=False) as resp:
            authorize = resp.headers["Location"]
        async with http.get(authorize, params={"sandbox_user": "op1"}, allow_redirects=False) as resp:
            back = URL(resp.headers["Location"])
        assert back.path == "/h5/oauth" and back.query.get("code")
        evil = back.update_query({"next": "https://evil.example.com/"})
        async with http.get(evil, allow_redirects=False) as resp:
            assert resp.status == 302 and resp.headers["Location"] == "/" and COOKIE in resp.cookies


async def test_page_without_login_redirects_to_wecom_oauth(h5: Stack) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{h5.bot_url}/h5/whoami", allow_redirects=False) as resp:
            location = URL(resp.headers["Location"])
    assert resp.status == 302 and location.path == "/connect/oauth2/authorize"
    assert location.query["appid"] == "wwsandbox0000000001" and location.query["scope"] == "snsapi_base"
    assert location.query["redirect_uri"].startswith(h5.bot_url + "/h5/oauth")
