"""The PMs' H5 issue list in headless Chromium at a 360 px phone viewport, through the sandbox's OAuth: filtered
to overdue, an issue opened, its owner changed and saved."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.models import User
from bot.models.issues import Issue
from tests.conftest import Stack
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests.handlers.issues_support import is_card_to
from tests.handlers.test_issues_h5 import seed_issues

pytestmark = [pytest.mark.browser, pytest.mark.db]


@pytest.fixture
async def page(stack: Stack) -> AsyncIterator[object]:
    require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                            has_touch=True, locale="zh-CN")
        await context.add_cookies([{"name": "sandbox_user", "value": "pm1", "url": stack.sandbox.base_url}])
        yield await context.new_page()
        await browser.close()


async def test_overdue_list_on_a_phone_and_an_owner_change_saved(stack: Stack, page) -> None:
    users = await seed_issues(stack)
    response = await page.goto(f"{stack.bot_url}/h5/issues")
    assert response.ok and page.url.startswith(f"{stack.bot_url}/h5/issues")  # back from the sandbox's OAuth
    await page.check("#f-overdue")
    await page.tap("#f-apply")
    await page.wait_for_url("**/h5/issues?*overdue=1*")
    assert await page.text_content("#total") == "共 2 条"
    titles = await page.locator(".issue .title").all_text_contents()
    assert titles == ["标签错位", "冲床异响"], "most overdue first"
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    apply_box = await page.locator("#f-apply").bounding_box()
    assert apply_box["height"] >= 44

    await page.locator(".issue", has_text="冲床异响").tap()
    await page.wait_for_selector("#act-fwd")
    await page.select_option("#new-owner", str(users["lead1"]))
    await page.tap("#save-owner")
    await page.wait_for_function("document.querySelector('#owner').textContent === '赵班长'")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    async with stack.services.sessions() as session:
        issue = await session.scalar(select(Issue).where(Issue.title == "冲床异响"))
        owner = await session.get(User, issue.owner_id)
    assert owner.wecom_userid == "lead1"
    await stack.sandbox.wait_for_message(is_card_to("lead1", issue.number))
