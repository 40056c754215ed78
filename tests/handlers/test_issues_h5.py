"""The H5 issue pages through the sandbox's WeCom OAuth: the PMs' list filtered and paged in SQL, a change of
owner or due date from an issue's page (with the cards following), the role gate, forged form keys, and the
new-issue form with a photo from the file input."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import select

from bot.issues import open_issue
from bot.models import Line, User
from bot.models.issues import Issue, IssuePhoto
from tests.conftest import Stack
from tests.handlers.issues_support import is_card_to, png, seed_people

pytestmark = pytest.mark.db


async def seed_issues(stack: Stack) -> dict[str, int]:
    seeded = await seed_people(stack)
    now = stack.services.clock()
    today = stack.services.settings.calendar.day_of(now)
    async with stack.services.sessions.begin() as session:
        op1 = await session.get(User, seeded.users["op1"])
        for n, (title, late) in enumerate((("冲床异响", 3), ("扭矩偏大", 0), ("标签错位", 5), ("系统卡顿", -2))):
            opened = await open_issue(session, services=stack.services, source="chat", ref=f"t{n}", title=title,
                                      category="设备" if n < 3 else "系统问题", reporter=op1, now=now)
            opened.issue.due_on = today - timedelta(days=late)
    return seeded.users


def browser(stack: Stack, userid: str) -> aiohttp.ClientSession:
    jar = aiohttp.CookieJar(unsafe=True)
    jar.update_cookies({"sandbox_user": userid}, response_url=aiohttp.client.URL(stack.sandbox.base_url))
    return aiohttp.ClientSession(cookie_jar=jar, headers={"Origin": stack.bot_url})


@pytest.fixture
async def pm(stack: Stack) -> AsyncIterator[aiohttp.ClientSession]:
    async with browser(stack, "pm1") as http:
        yield http


async def get(stack: Stack, http: aiohttp.ClientSession, path: str) -> tuple[int, str]:
    async with http.get(stack.bot_url + path) as response:
        return response.status, await response.text()


def key_of(html: str, form: str) -> str:
    part = html[html.index(f'id="{form}"'):]
    match = re.search(r'name="key" value="([^"]+)"', part)
    assert match
    return match.group(1)


async def test_the_list_filters_overdue_in_plant_time_and_opens_through_oauth(stack: Stack,
                                                                          pm: aiohttp.ClientSession) -> None:
    await seed_issues(stack)
    status, html = await get(stack, pm, "/h5/issues?overdue=1")
    assert status == 200 and 'name="viewport"' in html
    year = stack.services.settings.calendar.day_of(stack.services.clock()).year
    assert re.findall(r'data-number="(Q-\d{4}-\d{4})"', html) == [f"Q-{year}-0003", f"Q-{year}-0001"]
    assert "扭矩偏大" not in html and "系统卡顿" not in html and "逾期5天" in html and "共 2 条" in html
    _, html = await get(stack, pm, "/h5/issues?category=系统问题")
    assert "系统卡顿" in html and "冲床异响" not in html


async def test_the_filter_choices_follow_a_renamed_owner_and_a_new_line(stack: Stack,
                                                                      pm: aiohttp.ClientSession) -> None:
    users = await seed_issues(stack)
    _, html = await get(stack, pm, "/h5/issues")
    assert f'<option value="{users["maint1"]}">孙师傅</option>' in html and "L9" not in html
    async with stack.services.sessions.begin() as session:  # the choices are cached: a change must drop them
        (await session.get(User, users["maint1"])).name = "孙<工>"  # type: ignore[union-attr]
        plant_id = await session.scalar(select(Line.plant_id).limit(1))
        session.add(Line(plant_id=plant_id, code="L9", name="九号线"))
    _, html = await get(stack, pm, f"/h5/issues?owner={users['maint1']}")
    assert f'<option value="{users["maint1"]}" selected>孙&lt;工&gt;</option>' in html and ">L9 九号线<" in html


async def test_a_pm_changes_the_owner_and_the_new_owner_gets_the_card(stack: Stack,
                                                                     pm: aiohttp.ClientSession) -> None:
    users = await seed_issues(stack)
    [first] = [i for i in await _issues(stack) if i.title == "冲床异响"]
    status, html = await get(stack, pm, f"/h5/issues/{first.number}")
    assert status == 200 and 'id="act-fwd"' in html and 'id="act-due"' in html
    form = {"key": key_of(html, "act-fwd"), "action": "fwd", "owner": str(users["lead1"])}
    async with pm.post(f"{stack.bot_url}/h5/issues/{first.number}", data=form) as response:
        assert response.status == 200 and "赵班长" in await response.text()  # after the 303
    [changed] = [i for i in await _issues(stack) if i.id == first.id]
    assert changed.owner_id == users["lead1"]
    await stack.sandbox.wait_for_message(is_card_to("lead1", first.number))

    async with pm.post(f"{stack.bot_url}/h5/issues/{first.number}",
                       data={**form, "owner": str(users["maint2"])}) as response:
        assert response.status == 409, "maint2 works on line 2: not offered for a line-1 issue"
    async with pm.post(f"{stack.bot_url}/h5/issues/{first.number}", data={**form, "key": "forged"}) as response:
        assert response.status == 403
    late = (stack.services.settings.calendar.day_of(stack.services.clock()) - timedelta(days=1)).isoformat()
    _, html = await get(stack, pm, f"/h5/issues/{first.number}")
    async with pm.post(f"{stack.bot_url}/h5/issues/{first.number}",
                       data={"key": key_of(html, "act-due"), "action": "due", "due": late}) as response:
        assert response.status == 409 and "截止日期不能早于今天" in await response.text()


async def test_the_list_is_for_pms_and_managers_and_posts_need_our_origin(stack: Stack) -> None:
    await seed_issues(stack)
    async with browser(stack, "op1") as op:
        status, html = await get(stack, op, "/h5/issues")
        assert status == 403 and "没有权限" in html
    async with browser(stack, "pm1") as http:
        number = (await _issues(stack))[0].number
        _, html = await get(stack, http, f"/h5/issues/{number}")
        async with http.post(f"{stack.bot_url}/h5/issues/{number}", headers={"Origin": "http://evil.example"},
                             data={"key": key_of(html, "act-fwd"), "action": "rej"}) as response:
            assert response.status == 403
    assert all(i.status == "new" for i in await _issues(stack))


async def test_the_new_form_opens_an_issue_with_its_photo_once(stack: Stack) -> None:
    users = await seed_issues(stack)
    async with browser(stack, "op1") as op:
        status, html = await get(stack, op, "/h5/issues/new")
        assert status == 200 and 'type="file"' in html
        form = aiohttp.FormData()
        for name, value in (("key", key_of(html, "new-form")), ("description", "传送带打滑"), ("category", "设备"),
                            ("priority", "high"), ("line", ""), ("machine", ""), ("media_ids", "")):
            form.add_field(name, value)
        form.add_field("photo", png(2000), filename="a.png", content_type="image/png")
        async with op.post(f"{stack.bot_url}/h5/issues/new", data=form) as response:
            page = await response.text()
            assert response.status == 200 and "已提交" in page and "传送带打滑" in page
        async with op.post(f"{stack.bot_url}/h5/issues/new", data={
                "key": key_of(html, "new-form"), "description": "传送带打滑"}) as response:
            assert response.status == 200, "a resubmitted form is the same issue"
    created = [i for i in await _issues(stack) if i.title == "传送带打滑"]
    assert len(created) == 1 and created[0].source == "h5" and created[0].priority == "high"
    assert created[0].reporter_id == users["op1"] and created[0].owner_id is not None
    async with stack.services.sessions() as session:
        [photo] = list(await session.scalars(select(IssuePhoto)))
    assert photo.issue_id == created[0].id and photo.status == "stored" and photo.content_type == "image/png"


async def _issues(stack: Stack) -> list[Issue]:
    async with stack.services.sessions() as session:
        return list(await session.scalars(select(Issue).order_by(Issue.id)))
