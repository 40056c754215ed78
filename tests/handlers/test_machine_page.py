"""A machine label opened with WeCom's own scanner: the machine page, with the actions of each role.

Regression: the page used to be the report form, so maintenance scanning a machine got "无法报工".
"""
from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy import select

from bot.models.equipment import DowntimeAlert
from bot.qr import QrPayload
from tests.conftest import Stack

from .reports_support import seed_stack

pytestmark = pytest.mark.db


def machine_url(stack: Stack, code: str = "L1-M1") -> str:
    assert stack.services.qr is not None
    return f"{stack.bot_url}/h5/q/{stack.services.qr.token(QrPayload('machine', (code,)))}"


def browser(stack: Stack, userid: str) -> aiohttp.ClientSession:
    """A browser inside WeCom for one member: the sandbox's OAuth page picks the member from a cookie."""
    jar = aiohttp.CookieJar(unsafe=True)
    jar.update_cookies({"sandbox_user": userid}, response_url=aiohttp.client.URL(stack.sandbox.base_url))
    return aiohttp.ClientSession(cookie_jar=jar, headers={"Origin": stack.bot_url})


def field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no field {name}"
    return match.group(1)


@pytest.fixture
async def seeded(stack: Stack) -> AsyncIterator[Stack]:
    await seed_stack(stack)
    await stack.add_user("fix1", "孙维修", ["maintenance"])
    yield stack


async def alerts(stack: Stack) -> list[DowntimeAlert]:
    async with stack.services.sessions() as session:
        return list((await session.scalars(select(DowntimeAlert).order_by(DowntimeAlert.id))).all())


async def test_an_operator_sees_the_machine_and_a_report_button_that_opens_the_form(seeded: Stack) -> None:
    async with browser(seeded, "op1") as http:
        async with http.get(machine_url(seeded)) as response:
            page = await response.text()
        assert response.status == 200 and "L1-M1" in page and 'id="report"' in page and 'id="call"' in page
        assert 'id="take"' not in page
        link = re.search(r'href="(/h5/report/label/[^"]+)"', page)
        assert link
        async with http.get(seeded.bot_url + link.group(1)) as response:
            form = await response.text()
        assert response.status == 200 and 'id="report-form"' in form and "WO-001" in form


async def test_maintenance_calls_takes_and_fixes_from_the_page(seeded: Stack) -> None:
    async with browser(seeded, "fix1") as http:
        async with http.get(machine_url(seeded)) as response:
            page = await response.text()
        assert response.status == 200 and "无法报工" not in page and 'id="report"' not in page
        url = f"{seeded.bot_url}/h5/machine/L1-M1"
        base = {"token": field(page, "token"), "key": field(page, "key")}
        async with http.post(url, data=base | {"action": "call"}) as response:
            page = await response.text()
        assert response.status == 200 and "已通知维修" in page and 'id="take"' in page
        async with http.post(url, data=base | {"action": "call"}) as response:
            assert "无需重复报修" in await response.text()
        assert len(await alerts(seeded)) == 1
        async with http.post(url, data=base | {"action": "take"}) as response:
            page = await response.text()
        assert "已接单" in page and 'id="fix"' in page and 'id="take"' not in page
        async with http.post(url, data=base | {"action": "fix", "reason": "OTHER"}) as response:
            page = await response.text()
        assert response.status == 200 and "已记录修复" in page
    [alert] = await alerts(seeded)
    assert alert.status == "fixed" and alert.reason_code == "OTHER" and alert.source == "manual"


async def test_forged_keys_and_roles_are_refused(seeded: Stack) -> None:
    async with browser(seeded, "op1") as http:
        async with http.get(machine_url(seeded)) as response:
            page = await response.text()
        url = f"{seeded.bot_url}/h5/machine/L1-M1"
        async with http.post(url, data={"token": field(page, "token"), "key": "forged", "action": "call"}) as r:
            assert r.status == 403
        async with http.post(url, data={"token": field(page, "token"), "key": field(page, "key"),
                                        "action": "take"}) as r:
            assert r.status == 403  # an operator does not take alerts
        async with http.post(f"{seeded.bot_url}/h5/machine/L9-M9", data={"key": field(page, "key"),
                                                                          "action": "call"}) as r:
            assert r.status == 403  # the key belongs to L1-M1's page
    assert await alerts(seeded) == []
