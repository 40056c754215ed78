"""The OAuth authorize redirect and auth/getuserinfo codes (5 minutes, once)."""

from __future__ import annotations

import aiohttp
from yarl import URL

from integrations.wecom.sandbox import Sandbox
from tests.integrations.wecom.sandbox.conftest import Api


def authorize_params(sandbox: Sandbox, redirect: str, **extra: str) -> dict[str, str]:
    return {
        "appid": sandbox.config.corp_id,
        "redirect_uri": redirect,
        "response_type": "code",
        "scope": "snsapi_base",
        "state": "abc123",
        "agentid": str(sandbox.config.agent_id),
        **extra,
    }


async def authorize(http: aiohttp.ClientSession, sandbox: Sandbox, **params: str) -> aiohttp.ClientResponse:
    async with http.get(
        f"{sandbox.base_url}/connect/oauth2/authorize", params=params, allow_redirects=False
    ) as response:
        await response.read()
        return response


async def test_redirect_with_code_used_once(api: Api, sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    redirect = "http://127.0.0.1:8080/h5/report?wo=7"
    response = await authorize(http, sandbox, **authorize_params(sandbox, redirect, sandbox_user="lisi"))
    assert response.status == 302
    location = URL(response.headers["Location"])
    assert (location.host, location.port, location.path) == ("127.0.0.1", 8080, "/h5/report")
    assert location.query["wo"] == "7" and location.query["state"] == "abc123"
    code = location.query["code"]
    first = await api.get("/cgi-bin/auth/getuserinfo", access_token=api.token, code=code)
    assert first["errcode"] == 0 and first["userid"] == "lisi"
    again = await api.get("/cgi-bin/auth/getuserinfo", access_token=api.token, code=code)
    assert again["errcode"] == 40029


async def test_code_expires_after_5_minutes(api: Api, sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    params = authorize_params(sandbox, "http://localhost/h5", sandbox_user="zhangsan")
    code = URL((await authorize(http, sandbox, **params)).headers["Location"]).query["code"]
    sandbox.advance_clock(301)
    await api.fresh_token()
    assert (await api.get("/cgi-bin/auth/getuserinfo", access_token=api.token, code=code))["errcode"] == 40029


async def test_member_chosen_by_cookie_and_non_member_gets_openid(api: Api, sandbox: Sandbox) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        jar.update_cookies({"sandbox_user": "wangwu"}, URL(sandbox.base_url))
        response = await authorize(browser, sandbox, **authorize_params(sandbox, "http://127.0.0.1/h5"))
        code = URL(response.headers["Location"]).query["code"]
        assert (await api.get("/cgi-bin/auth/getuserinfo", access_token=api.token, code=code))[
            "userid"
        ] == "wangwu"
        params = authorize_params(sandbox, "http://127.0.0.1/h5", sandbox_user="visitor")
        code = URL((await authorize(browser, sandbox, **params)).headers["Location"]).query["code"]
        outsider = await api.get("/cgi-bin/auth/getuserinfo", access_token=api.token, code=code)
        assert "userid" not in outsider and outsider["openid"]


async def test_refusals(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    untrusted = await authorize(
        http, sandbox, **authorize_params(sandbox, "http://evil.example/h5", sandbox_user="lisi")
    )
    assert untrusted.status == 400 and untrusted.headers["X-Errcode"] == "50001"
    bad_app = await authorize(
        http, sandbox, **authorize_params(sandbox, "http://127.0.0.1/h5", appid="wwx", sandbox_user="lisi")
    )
    assert bad_app.status == 400 and bad_app.headers["X-Errcode"] == "40013"
    bad_state = await authorize(
        http, sandbox, **authorize_params(sandbox, "http://127.0.0.1/h5", state="a-b", sandbox_user="lisi")
    )
    assert bad_state.status == 400
    nobody = await authorize(http, sandbox, **authorize_params(sandbox, "http://127.0.0.1/h5"))
    assert nobody.status == 400
