"""Property: every H5 form field, QR landing token and OAuth return parameter gets a page on purpose — a 2xx,
3xx or 4xx, never a 5xx or a traceback — for a member logged in through the sandbox's real OAuth redirect."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import quote

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st
from yarl import URL

from bot.router import SCAN_PAGE_PREFIX
from tests.conftest import Stack
from tests.handlers.reports_support import op_url

from .support import DISPATCHER, FUZZ, FUZZ_MORE, any_text, assert_on_purpose, query_text, quiet_outbox, seed_plant

pytestmark = [pytest.mark.db, pytest.mark.slow]
POSTS = sorted({r.path for r in DISPATCHER.h5_routes if r.method == "POST"})
GETS = sorted({r.path for r in DISPATCHER.h5_routes if r.method == "GET" and not r.path.startswith(SCAN_PAGE_PREFIX)})
BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
FIELDS = ("token", "key", "good", "scrap", "reason", "report")  # the fields our forms carry, plus chance ones


@pytest.fixture
async def phone(stack: Stack) -> AsyncIterator[tuple[Stack, aiohttp.ClientSession, dict[str, str]]]:
    """Logged in as an admin (every role check passes), with one real form's token and issued key at hand."""
    await seed_plant(stack)
    jar = aiohttp.CookieJar(unsafe=True)
    jar.update_cookies({"sandbox_user": "admin"}, URL(stack.sandbox.base_url))
    async with aiohttp.ClientSession(cookie_jar=jar, headers={"Origin": stack.bot_url}) as http:
        async with http.get(op_url(stack)) as response:
            html = await response.text()
            assert response.status == 200, html
        real = {name: re.search(rf'name="{name}" value="([^"]*)"', html).group(1)  # type: ignore[union-attr]
                for name in ("token", "key")}
        yield stack, http, real
    await quiet_outbox(stack)


def form_fields(real: dict[str, str]) -> st.SearchStrategy[dict[str, str]]:
    """Each known field is absent, real (where we have one) or hostile; a few unknown fields ride along."""
    def field(name: str) -> st.SearchStrategy[str]:
        options = [any_text, st.sampled_from(["DIM", "LOOK", "1", ""])]
        if name in real:
            options.insert(0, st.just(real[name]))
        return st.one_of(*options)

    known = st.fixed_dictionaries({}, optional={name: field(name) for name in FIELDS})
    extra = st.dictionaries(st.text(st.characters(categories=("L", "N")), min_size=1, max_size=10), any_text,
                            max_size=2)
    return st.builds(lambda a, b: b | a, known, extra)


@pytest.mark.parametrize("path", POSTS)
@FUZZ_MORE
@given(data=st.data())
async def test_every_h5_form_field_gets_a_page_on_purpose(phone: tuple[Stack, aiohttp.ClientSession, dict[str, str]],
                                                          caplog: pytest.LogCaptureFixture, path: str,
                                                          data: st.DataObject) -> None:
    stack, http, real = phone
    fields = data.draw(form_fields(real), label="fields")
    caplog.clear()
    async with http.post(f"{stack.bot_url}{path}", data=fields) as response:
        status = response.status
    assert_on_purpose(status, None, caplog, (path, fields))


@pytest.mark.skipif(not GETS, reason="no plain H5 pages registered")
@FUZZ
@given(data=st.data())
async def test_every_h5_page_answers_any_query(phone: tuple[Stack, aiohttp.ClientSession, dict[str, str]],
                                               caplog: pytest.LogCaptureFixture, data: st.DataObject) -> None:
    stack, http, _ = phone
    path = data.draw(st.sampled_from(GETS), label="path")
    params = data.draw(st.dictionaries(st.sampled_from(FIELDS), query_text, max_size=3), label="query")
    caplog.clear()
    async with http.get(f"{stack.bot_url}{path}", params=params, allow_redirects=False) as response:
        status = response.status
    assert_on_purpose(status, None, caplog, (path, params))


@FUZZ
@given(token=st.one_of(query_text.filter(bool), st.text(BASE64URL, min_size=1, max_size=300)))
async def test_any_qr_landing_token_gets_a_page_on_purpose(phone: tuple[Stack, aiohttp.ClientSession, dict[str, str]],
                                                           caplog: pytest.LogCaptureFixture, token: str) -> None:
    stack, http, _ = phone
    caplog.clear()
    url = URL(f"{stack.bot_url}/h5/q/{quote(token, safe='')}", encoded=True)
    async with http.get(url, allow_redirects=False) as response:
        status = response.status
    assert_on_purpose(status, None, caplog, token)


@pytest.mark.parametrize("path", ["/h5/oauth", "/h5/login"])
@FUZZ_MORE
@given(params=st.dictionaries(st.sampled_from(["code", "state", "next"]), query_text, max_size=3),
       cookie=st.one_of(st.none(), any_text))
async def test_any_oauth_return_or_login_gets_a_page_on_purpose(stack: Stack, caplog: pytest.LogCaptureFixture,
                                                                path: str, params: dict[str, str],
                                                                cookie: str | None) -> None:
    caplog.clear()
    headers = {"Cookie": f"opsbot_h5_login={quote(cookie, safe='')}"} if cookie is not None else {}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{stack.bot_url}{path}", params=params, headers=headers,
                            allow_redirects=False) as response:
            status = response.status
    assert_on_purpose(status, None, caplog, (params, cookie))
