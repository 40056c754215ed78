"""The round in WeCom's browser: a label opens its checkpoint's form (presence), answers and photos are posted
with it, an NG opens an issue; a non-image, an oversized photo, another round's label and a closed round are
refused with a clear page and change nothing; a checkpoint answered from the round page is 未扫码."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.models.issues import Issue
from bot.models.patrols import PatrolAnswer, PatrolPhoto, PatrolVisit
from tests.conftest import Stack

from .patrols_support import JPEG, Clock, dispatch, label, overrides, round_of, seed

pytestmark = pytest.mark.db


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def stack_overrides() -> dict[str, dict[str, Any]]:
    return overrides()


@pytest.fixture
async def phone(stack: Stack) -> AsyncIterator[aiohttp.ClientSession]:
    await seed(stack)
    await dispatch(stack)
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar, headers={"Origin": stack.bot_url}) as http:
        jar.update_cookies({"sandbox_user": "lead1"}, response_url=aiohttp.client.URL(stack.sandbox.base_url))
        yield http


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name}"
    return match.group(1)


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url) as response:
        return response.status, await response.text()


async def post(stack: Stack, http: aiohttp.ClientSession, html: str, values: dict[str, str],
               photos: dict[str, tuple[bytes, str]] | None = None, token: str | None = None) -> tuple[int, str]:
    form = aiohttp.FormData()
    for name in ("round", "checkpoint", "key"):
        form.add_field(name, hidden(html, name))
    form.add_field("token", hidden(html, "token") if token is None else token)
    for name, value in values.items():
        form.add_field(f"v_{name}", value)
    for name, (data, content_type) in (photos or {}).items():
        form.add_field(f"p_{name}", data, filename="photo.jpg", content_type=content_type)
    async with http.post(f"{stack.bot_url}/h5/patrols/answer", data=form) as response:
        return response.status, await response.text()


async def counts(stack: Stack) -> tuple[int, int, int]:
    async with stack.services.sessions() as session:
        return (await session.scalar(select(func.count()).select_from(PatrolAnswer)),
                await session.scalar(select(func.count()).select_from(PatrolPhoto)),
                await session.scalar(select(func.count()).select_from(Issue)))


async def test_a_scanned_checkpoint_is_answered_with_a_photo_and_the_ng_opens_an_issue(
        stack: Stack, phone: aiohttp.ClientSession) -> None:
    row = await round_of(stack)
    status, html = await get(phone, label(stack, "5S-L1:B"))
    assert status == 200 and "地面无油污铁屑" in html and "已扫码" in html
    status, page = await post(stack, phone, html, {"floor": "ng", "air": "0.8"}, {"floor": (JPEG, "image/jpeg")})
    assert status == 200 and "已保存：加工区" in page and "问题单 Q-" in page
    answers, photos, issues = await counts(stack)
    assert (answers, photos, issues) == (2, 1, 2)  # the photo's NG and the pressure out of limits
    async with stack.services.sessions() as session:
        [visit] = list(await session.scalars(select(PatrolVisit)))
    assert visit.scanned_at is not None and not visit.unscanned
    status, again = await get(phone, f"{stack.bot_url}/h5/patrols/round/{row.id}")
    assert status == 200 and "1/6" not in again and "2/6 项" in again


async def test_refused_uploads_and_labels_change_nothing(stack: Stack, phone: aiohttp.ClientSession,
                                                         clock: Clock) -> None:
    _, html = await get(phone, label(stack, "5S-L1:A"))
    pdf = (b"%PDF-1.4 x", "image/jpeg")  # declared an image, is not one
    status, page = await post(stack, phone, html, {"tidy": "ng", "label": "ok"}, {"tidy": pdf})
    assert status == 422 and "只能上传图片" in page
    big = JPEG + b"\x00" * (10 * 1024 * 1024)
    status, page = await post(stack, phone, html, {"tidy": "ng", "label": "ok"}, {"tidy": (big, "image/jpeg")})
    assert status == 413 and "超过 10 MB" in page
    status, page = await post(stack, phone, html, {"tidy": "ng", "label": "ok"})
    assert status == 422 and "需要照片" in page
    other = label(stack, "DJ-CNC:M@L1-M1").rsplit("/", 1)[1]
    status, page = await post(stack, phone, html, {"tidy": "ok", "label": "ok"}, token=other)
    assert status == 409 and "不属于这轮巡检" in page
    clock.advance(5 * 60)
    status, page = await post(stack, phone, html, {"tidy": "ok", "label": "ok"})
    assert status == 409 and "已结束" in page
    assert await counts(stack) == (0, 0, 0)


async def test_a_checkpoint_answered_without_its_scan_is_marked(stack: Stack, phone: aiohttp.ClientSession) -> None:
    row = await round_of(stack)
    status, html = await get(phone, f"{stack.bot_url}/h5/patrols/round/{row.id}/C")
    assert status == 200 and "未扫码（将被标记）" in html
    status, page = await post(stack, phone, html, {"stack": "整齐", "exit": "ok"})
    assert status == 200 and "未扫码" in page
    async with stack.services.sessions() as session:
        [visit] = list(await session.scalars(select(PatrolVisit)))
    assert visit.unscanned and visit.scanned_at is None
