"""A manager asks `指标 L1` on the phone, opens the chart full size and the shift's details page (Chromium)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import DemoStack, phone_tab

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.slow]
TIMEOUT_MS = 15_000
THUMB, FULL = "[data-testid=bot-image] img.pic", "[data-testid=image-full]"
LOADED_JS = "(css) => { const img = document.querySelector(css); return img && img.complete && img.naturalWidth > 0 }"


@pytest.fixture
async def page(demo_stack: DemoStack) -> AsyncIterator[Any]:
    async with phone_tab(TIMEOUT_MS) as tab:  # the chart is rendered and uploaded first: a longer wait
        yield tab


async def test_manager_asks_for_a_line_and_opens_chart_and_shift(page: Any, demo_stack: DemoStack,
                                                                 tmp_path: Path) -> None:
    from playwright.async_api import expect

    await page.goto(f"{demo_stack.phone_url}?user=guoping")
    await expect(page.locator("body[data-live='1']")).to_have_count(1)
    await page.get_by_test_id("text-input").fill("指标 L1")
    await page.get_by_test_id("send").click()
    pane = page.get_by_test_id("pane-app")
    answer = pane.get_by_test_id("bot-text").filter(has_text="（L1） 指标")
    await expect(answer).to_contain_text("可用率")
    assert "—" not in await answer.inner_text()

    thumb = pane.get_by_test_id("bot-image").locator("img.pic")
    await expect(thumb).to_have_count(1)
    await page.wait_for_function(LOADED_JS, arg=THUMB)
    assert (await thumb.bounding_box())["width"] <= 200  # the chat shows a thumbnail
    await thumb.click()
    full = page.get_by_test_id("image-viewer").get_by_test_id("image-full")
    await expect(full).to_be_visible()
    await page.wait_for_function(LOADED_JS, arg=FULL)
    natural = await full.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert natural == [800, 450]  # the uploaded chart itself, not a thumbnail of it
    assert (await full.bounding_box())["width"] >= 380  # shown as wide as the screen
    await page.screenshot(path=str(tmp_path / "kpi-chart.png"))
    await page.get_by_test_id("image-viewer").click()  # a tap closes it
    await expect(page.get_by_test_id("image-viewer")).to_have_count(0)

    await answer.locator("a[data-link]").filter(has_text="详情").click()
    frame = page.frame_locator("[data-testid=webview] iframe")
    hero = frame.get_by_test_id("shift-hero")
    await expect(hero).to_contain_text("（L1）")
    await expect(hero).to_contain_text("OEE")
    await expect(frame.get_by_test_id("line-figures")).to_contain_text("可用率")
    await expect(frame.get_by_test_id("machine")).to_have_count(3)  # L1-M1..M3
    assert "—" not in await frame.locator("main").inner_text()
    await page.screenshot(path=str(tmp_path / "kpi-shift.png"))

    await page.set_viewport_size({"width": 360, "height": 740})  # a small phone: nothing runs off the side
    inner = await (await page.locator("[data-testid=webview] iframe").element_handle()).content_frame()
    await inner.wait_for_function("() => innerWidth <= 360 && document.documentElement.scrollWidth <= innerWidth")
