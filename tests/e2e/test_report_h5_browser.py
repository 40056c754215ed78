"""The H5 report form in headless Chromium at a phone's size, opened through the sandbox's OAuth redirect."""
from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import Stack
from tests.handlers.reports_support import op_url, report_count, reports, seed_stack

pytestmark = [pytest.mark.browser, pytest.mark.db]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


@pytest.fixture
async def page(stack: Stack) -> AsyncIterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (CI must have it: make system-deps)")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.async_api import async_playwright

    await seed_stack(stack)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                            has_touch=True, locale="zh-CN")
        await context.add_cookies([{"name": "sandbox_user", "value": "op1", "url": stack.sandbox.base_url}])
        yield await context.new_page()
        await browser.close()


async def test_report_through_oauth_on_a_phone_screen_and_double_submit(stack: Stack, page) -> None:
    response = await page.goto(op_url(stack))
    assert response.ok and "/h5/q/" in page.url  # came back from the sandbox's OAuth page
    assert await page.text_content("#wo") == "WO-001"
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    submit_box = await page.locator("#submit").bounding_box()
    plus_box = await page.locator("button[data-step='1'][data-for='good']").bounding_box()
    assert submit_box["height"] >= 44 and plus_box["height"] >= 44 and plus_box["width"] >= 44

    await page.fill("#good", "12")
    for _ in range(2):
        await page.tap("button[data-step='1'][data-for='scrap']")
    await page.select_option("#reason", "LOOK")
    # two extra posts of the very same form, as a flaky network resending it would
    statuses = await page.evaluate("""async () => {
        const body = new URLSearchParams(new FormData(document.getElementById('report-form')));
        const sends = [0, 1].map(() => fetch('/h5/report', {method: 'POST', body}).then(r => r.status));
        return Promise.all(sends);
    }""")
    assert statuses == [200, 200]
    await page.dblclick("#submit")  # a double tap on the button itself
    await page.wait_for_selector("#result-title")
    assert await page.text_content("#result-title") in ("报工成功", "此表单已提交过")
    assert await page.text_content("#good") == "12"
    assert await report_count(stack) == 1
    [report] = await reports(stack)
    assert (report.good, report.scrap, report.reason_code, report.source) == (12, 2, "LOOK", "h5")

    await page.click("#undo")
    await page.wait_for_selector("text=已撤销报工")
    assert [r.status for r in await reports(stack)] == ["undone"]

    await page.goto(op_url(stack))  # a fresh form is a fresh report
    await page.fill("#good", "3")
    await page.click("#submit")
    await page.wait_for_selector("#result-title")
    assert await page.text_content("#result-title") == "报工成功"
    assert await report_count(stack) == 2
