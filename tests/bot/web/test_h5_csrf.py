"""Issue 10 item 7: login CSRF (OAuth `state` bound to the browser), form keys the server issued, Origin checks
on POSTs and the cookie flags — through the sandbox's real OAuth redirect and the real report form."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

import aiohttp
import pytest
from yarl import URL

from bot.web.h5 import COOKIE
from bot.web.h5_tokens import LOGIN_COOKIE
from tests.clock import MovingClock
from tests.conftest import Stack
from tests.handlers.reports_support import op_url, report_count, reports, seed_stack

pytestmark = pytest.mark.db


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return MovingClock()


def browser(stack: Stack, userid: str, *, origin: str | None = "self") -> aiohttp.ClientSession:
    """A phone's browser inside WeCom for `userid`; it sends our Origin on POSTs, as browsers do."""
    jar = aiohttp.CookieJar(unsafe=True)
    jar.update_cookies({"sandbox_user": userid}, URL(stack.sandbox.base_url))
    headers = {"Origin": stack.bot_url if origin == "self" else origin} if origin else {}
    return aiohttp.ClientSession(cookie_jar=jar, headers=headers)


@pytest.fixture
async def plant(stack: Stack) -> AsyncIterator[Stack]:
    await seed_stack(stack)
    yield stack


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name}"
    return match.group(1)


async def open_form(stack: Stack, http: aiohttp.ClientSession, **label: str) -> str:
    async with http.get(op_url(stack, **label)) as response:
        assert response.status == 200, await response.text()
        return await response.text()


async def post_report(stack: Stack, http: aiohttp.ClientSession, token: str, key: str, good: str = "5",
                      **headers: str) -> tuple[int, str]:
    form = {"token": token, "key": key, "good": good, "scrap": "", "reason": ""}
    async with http.post(f"{stack.bot_url}/h5/report", data=form, headers=headers) as response:
        return response.status, await response.text()


async def start_login(stack: Stack, http: aiohttp.ClientSession) -> URL:
    """Opens a page without a session and follows WeCom's authorize page to the return URL (not opened)."""
    async with http.get(op_url(stack), allow_redirects=False) as response:
        assert response.status == 302
        authorize = response.headers["Location"]
    async with http.get(authorize, allow_redirects=False) as response:
        assert response.status == 302, await response.text()
        return URL(response.headers["Location"])


async def test_a_login_the_browser_did_not_start_is_refused(plant: Stack) -> None:
    """Login CSRF: an attacker's own code and state, opened in the victim's browser, must not log it in."""
    async with browser(plant, "op2") as attacker:
        planted = await start_login(plant, attacker)
    async with browser(plant, "op1") as victim:
        async with victim.get(planted, allow_redirects=False) as response:
            status, page = response.status, await response.text()
        assert status == 403 and "登录" in page
        assert not [c for c in victim.cookie_jar if c.key == COOKIE]


async def test_the_oauth_state_is_single_use(plant: Stack) -> None:
    async with browser(plant, "op1") as http:
        back = await start_login(plant, http)
        async with http.get(back, allow_redirects=False) as response:
            assert response.status == 302 and COOKIE in response.cookies
        # the same state again, with a fresh code WeCom would give for it: the browser used it up already
        authorize = URL(plant.sandbox.base_url + "/connect/oauth2/authorize").with_query(
            appid="wwsandbox0000000001", redirect_uri=str(back.with_query(next=back.query["next"])),
            response_type="code", scope="snsapi_base", state=back.query["state"])
        async with http.get(authorize, allow_redirects=False) as response:
            replay = URL(response.headers["Location"])
        assert replay.query["code"] != back.query["code"]
        async with http.get(replay, allow_redirects=False) as response:
            assert response.status == 403


async def test_a_login_left_ten_minutes_is_refused(plant: Stack, clock: MovingClock) -> None:
    async with browser(plant, "op1") as http:
        back = await start_login(plant, http)
        clock.offset += timedelta(minutes=11)
        async with http.get(back, allow_redirects=False) as response:
            assert response.status == 403


async def test_two_tabs_logging_in_at_once_both_succeed(plant: Stack) -> None:
    async with browser(plant, "op1") as http:
        first, second = await start_login(plant, http), await start_login(plant, http)
        for back in (first, second):
            async with http.get(back, allow_redirects=False) as response:
                assert response.status == 302, await response.text()


async def test_cookies_are_httponly_and_secure_behind_https(plant: Stack) -> None:
    settings = plant.services.settings.server
    settings.public_url = plant.bot_url.replace("http://", "https://")  # as behind a TLS-terminating proxy
    async with aiohttp.ClientSession() as http:
        async with http.get(op_url(plant), allow_redirects=False) as response:
            authorize = response.headers["Location"]
            [pre_login] = [c for c in response.headers.getall("Set-Cookie") if c.startswith(LOGIN_COOKIE)]
        async with http.get(authorize, params={"sandbox_user": "op1"}, allow_redirects=False) as response:
            back = URL(response.headers["Location"])
        plain = back.with_scheme("http")  # the test server speaks plain HTTP behind the pretend proxy
        cookie = pre_login.split(";", 1)[0]
        async with http.get(plain, headers={"Cookie": cookie}, allow_redirects=False) as response:
            assert response.status == 302, await response.text()
            [session] = [c for c in response.headers.getall("Set-Cookie") if c.startswith(COOKIE + "=")]
    for header in (pre_login, session):
        flags = {part.strip().lower() for part in header.split(";")}
        assert "secure" in flags and "httponly" in flags and "samesite=lax" in flags, header


async def test_a_form_key_the_server_never_issued_is_refused(plant: Stack) -> None:
    async with browser(plant, "op1") as http:
        html = await open_form(plant, http)
        status, page = await post_report(plant, http, hidden(html, "token"), "A" * 24)
        assert status == 403 and "表单无效" in page
        status, page = await post_report(plant, http, hidden(html, "token"), hidden(html, "key")[:-3] + "AAA")
        assert status == 403 and "表单无效" in page
    assert await report_count(plant) == 0


async def test_a_form_key_is_bound_to_the_user_and_the_operation(plant: Stack) -> None:
    async with browser(plant, "op2") as other:
        others_key = hidden(await open_form(plant, other), "key")
    async with browser(plant, "op1") as http:
        html = await open_form(plant, http)
        status, page = await post_report(plant, http, hidden(html, "token"), others_key)
        assert status == 403 and "表单无效" in page
        seq20 = hidden(await open_form(plant, http, seq="20"), "token")
        status, page = await post_report(plant, http, seq20, hidden(html, "key"))  # seq 10's key, seq 20's label
        assert status == 403
    assert await report_count(plant) == 0


async def test_an_issued_form_key_expires_but_repeats_within_its_life_stay_one_report(
        plant: Stack, clock: MovingClock) -> None:
    async with browser(plant, "op1") as http:
        html = await open_form(plant, http)
        token, key = hidden(html, "token"), hidden(html, "key")
        assert (await post_report(plant, http, token, key))[0] == 200
        status, page = await post_report(plant, http, token, key)
        assert status == 200 and "此表单已提交过" in page
        late = hidden(await open_form(plant, http), "key")
        clock.offset += timedelta(hours=13)
        status, page = await post_report(plant, http, token, late)
        assert status == 400 and "已失效" in page
    assert len(await reports(plant)) == 1


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example.com"}, {"Origin": "null"},
                                     {"Referer": "https://evil.example.com/h5/q/x"}, {}])
async def test_a_post_from_a_foreign_or_unknown_origin_is_refused(plant: Stack, headers: dict[str, str]) -> None:
    async with browser(plant, "op1", origin=None) as http:
        html = await open_form(plant, http)
        status, page = await post_report(plant, http, hidden(html, "token"), hidden(html, "key"), **headers)
        assert status == 403 and "请求被拒绝" in page
        status, _ = await post_report(plant, http, hidden(html, "token"), hidden(html, "key"),
                                      Referer=f"{plant.bot_url}/h5/q/abc")  # Referer of our own page will do
        assert status == 200
    assert await report_count(plant) == 1


async def test_undo_from_a_foreign_origin_is_refused(plant: Stack) -> None:
    async with browser(plant, "op1") as http:
        html = await open_form(plant, http)
        _, done = await post_report(plant, http, hidden(html, "token"), hidden(html, "key"))
        async with http.post(f"{plant.bot_url}/h5/report/undo", data={"report": hidden(done, "report")},
                             headers={"Origin": "https://evil.example.com"}) as response:
            assert response.status == 403
    assert [r.status for r in await reports(plant)] == ["confirmed"]
