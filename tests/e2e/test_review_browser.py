"""The monthly review in headless Chromium: the demo's manager types 复盘 on a 360 px phone and opens the page
from the answer (charts load, nothing runs off the side); on a 1920×1080 meeting-room screen the page has two
columns and its charts; a team lead of L1 is refused L2 and the plant, the page and its chart images alike."""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.db import utcnow
from opsbot.demo.history import configure_review, seed_history
from tests.bot.review.support import NOW, review_overrides
from tests.bot.review.support import seed_history as seed_two_months
from tests.conftest import Stack
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, DemoStack, phone_tab, require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.slow]
TIMEOUT_MS = 30_000  # the page builds a month of a plant and draws three charts
CHARTS_LOADED = """() => { const imgs = [...document.querySelectorAll('img[data-chart]')];
  return imgs.length === 3 && imgs.every(img => img.complete && img.naturalWidth > 0) }"""


@pytest.fixture
async def review_demo(demo_stack: DemoStack, session_factory: Any) -> DemoStack:
    """The demo plant with its history: a baseline month and the months since, as `opsbot demo` seeds it."""
    async with session_factory.begin() as session:
        await seed_history(session, utcnow(), demo_stack.services.settings.calendar.shifts)
    async with session_factory() as session:
        assert await configure_review(session, demo_stack.services.settings) is not None
    return demo_stack


async def test_manager_opens_the_review_from_chat_on_a_small_phone(review_demo: DemoStack, tmp_path: Path) -> None:
    from playwright.async_api import expect

    async with phone_tab(TIMEOUT_MS, viewport={"width": 360, "height": 740}) as page:
        await page.goto(f"{review_demo.phone_url}?user=guoping")
        await expect(page.locator("body[data-live='1']")).to_have_count(1, timeout=TIMEOUT_MS)
        await page.get_by_test_id("text-input").fill("复盘")
        await page.get_by_test_id("send").click()
        pane = page.get_by_test_id("pane-app")
        answer = pane.get_by_test_id("bot-text").filter(has_text="月度复盘")
        await expect(answer).to_contain_text("OEE", timeout=TIMEOUT_MS)
        await expect(answer).to_contain_text("Excel 与 PDF", timeout=TIMEOUT_MS)
        await answer.locator("a[data-link*='/h5/review/']").click()
        frame = page.frame_locator("[data-testid=webview] iframe")
        await expect(frame.get_by_test_id("review-hero")).to_contain_text("全厂", timeout=TIMEOUT_MS)
        baseline = frame.locator("tr[data-kpi=oee] td").nth(4)
        await expect(baseline).not_to_contain_text("无数据", timeout=TIMEOUT_MS)
        inner = await (await page.locator("[data-testid=webview] iframe").element_handle()).content_frame()
        await inner.wait_for_function(CHARTS_LOADED)
        widths = await inner.evaluate("[...document.querySelectorAll('img[data-chart]')].map(i => i.clientWidth)")
        assert all(0 < w <= 360 for w in widths), widths
        await inner.wait_for_function("() => innerWidth <= 360 && document.documentElement.scrollWidth <= innerWidth")
        await page.screenshot(path=str(tmp_path / "review-phone.png"))


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return lambda: NOW


@pytest.fixture
def stack_overrides(tmp_path: Path) -> dict[str, dict[str, Any]]:
    return review_overrides(tmp_path)


@pytest.fixture
async def screen(stack: Stack, tmp_path: Path) -> AsyncIterator[Callable[[str], Any]]:
    """A 1920×1080 browser per member, signed in through the sandbox's OAuth."""
    require_chromium()
    from playwright.async_api import async_playwright

    await seed_two_months(stack.services.sessions, tmp_path)
    for userid, name in (("lead1", "李四"), ("boss", "王五")):
        stack.sandbox.add_user(userid, name)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)

        async def page_for(userid: str) -> Any:
            context = await browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
            context.set_default_timeout(TIMEOUT_MS)
            await context.add_cookies([{"name": "sandbox_user", "value": userid, "url": stack.sandbox.base_url}])
            return await context.new_page()

        yield page_for
        await browser.close()


async def test_meeting_room_screen_has_two_columns_and_charts(stack: Stack, screen: Any, tmp_path: Path) -> None:
    page = await screen("boss")
    response = await page.goto(f"{stack.bot_url}/h5/review/2026-11")
    assert response.ok and "全厂 · 2026-11 月度复盘" in await page.get_by_test_id("review-hero").inner_text()
    await page.wait_for_function(CHARTS_LOADED)
    downtime = await page.get_by_test_id("downtime").bounding_box()
    scrap = await page.get_by_test_id("scrap").bounding_box()
    assert downtime["y"] == scrap["y"] and scrap["x"] > downtime["x"] + downtime["width"]  # side by side
    trend = await page.locator("img[data-chart=trend]").bounding_box()
    assert trend["width"] > 1000  # the trend spans the screen
    assert await page.evaluate("document.documentElement.scrollWidth") <= 1920
    assert "70.9%" in await page.locator("tr[data-kpi=oee]").inner_text()  # 52800/73200 × 28000/28500
    await page.screenshot(path=str(tmp_path / "review-screen.png"), full_page=True)


async def test_team_lead_of_l1_is_refused_l2_and_the_plant(stack: Stack, screen: Any) -> None:
    page = await screen("lead1")
    base = f"{stack.bot_url}/h5/review/2026-11"
    response = await page.goto(f"{base}?line=L1")
    assert response.status == 200
    await page.wait_for_function(CHARTS_LOADED)
    for url in (f"{base}?line=L2", base, f"{base}/trend.png?line=L2", f"{base}/downtime.png"):
        response = await page.goto(url)
        assert response.status == 403, url
        assert "只能查看自己产线" in await page.inner_text("body")
