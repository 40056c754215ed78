"""The training player in headless Chromium at a phone's size: an operator scans the station's QR (through the
sandbox's OAuth), the real <video> element plays the generated MP4, heartbeats count only real play: skipping
to the end completes nothing, watching to the end and passing the quiz shows 已完成."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.qr import QrPayload
from tests.bot.training.support import media_copy, training_overrides
from tests.conftest import Stack
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, DemoStack, phone_tab, require_chromium
from tests.handlers.training_support import progress_of, release_all, seed_plant

pytestmark = [pytest.mark.browser, pytest.mark.db]


@pytest.fixture
def stack_overrides(tmp_path: Path) -> dict[str, dict[str, Any]]:
    return training_overrides(media_copy(tmp_path / "media"))


@pytest.fixture
async def page(stack: Stack) -> AsyncIterator[Any]:
    require_chromium()
    from playwright.async_api import async_playwright

    await seed_plant(stack)
    await release_all(stack)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            *CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"])
        context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                            has_touch=True, locale="zh-CN")
        await context.add_cookies([{"name": "sandbox_user", "value": "op1", "url": stack.sandbox.base_url}])
        yield await context.new_page()
        await browser.close()


PLAY_TO_END = """async (start) => {
    const v = document.getElementById('video');
    v.muted = true;
    if (v.readyState < 1) await new Promise(r => v.addEventListener('loadedmetadata', r, {once: true}));
    if (start !== null) {
        v.currentTime = start;
        await new Promise(r => v.addEventListener('seeked', r, {once: true}));
    }
    const ended = new Promise(r => v.addEventListener('ended', r, {once: true}));
    await v.play();
    await ended;
    await window.trainingBeats();
    await new Promise(r => setTimeout(r, 50));
    await window.trainingBeats();
    return [v.duration, v.currentTime];
}"""


async def test_scan_watch_to_the_end_and_pass_the_quiz(stack: Stack, page: Any) -> None:
    assert stack.services.qr is not None
    response = await page.goto(stack.services.qr.url(QrPayload("training", ("SAFE-01",))))
    assert response.ok and "/h5/q/" in page.url  # back from the sandbox's OAuth page
    assert await page.text_content("#title") == "机加工位安全须知"
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390

    duration, _ = await page.evaluate(PLAY_TO_END, 5.6)  # skipped to the end
    assert duration == pytest.approx(6.0, abs=0.1)
    [row] = await progress_of(stack, "SAFE-01")
    assert row.played_s < 1.0 and row.completed_at is None
    assert await page.text_content("#status") != "已完成 ✓"

    await page.evaluate(PLAY_TO_END, 0)  # the whole clip, at its own pace
    [row] = await progress_of(stack, "SAFE-01")
    assert row.played_s >= 0.9 * duration and row.completed_at is None  # the quiz is still open
    assert int(await page.text_content("#percent")) >= 90

    for question, option in ((0, 1), (1, 0), (2, 1)):
        await page.check(f"input[name='q{question}'][value='{option}']")
    await page.click("#quiz-submit")
    await page.wait_for_selector("#quiz-result")
    assert "测验通过" in await page.text_content("#quiz-result")
    assert await page.text_content("#status") == "已完成 ✓"
    [row] = await progress_of(stack, "SAFE-01")
    assert row.completed_at is not None



async def test_a_clip_sent_to_chat_plays_in_the_phone(demo_stack: DemoStack) -> None:
    """`看视频 1` typed in the demo's phone simulator: the video message shows as a player with its title, and it
    loads and seeks (the sandbox serves the uploaded MP4 with Range); the reply points at the page for progress."""
    from playwright.async_api import expect

    async with phone_tab() as page:
        await page.goto(f"{demo_stack.phone_url}?user=zhangwei")
        await expect(page.locator("body[data-live='1']")).to_have_count(1)
        await page.get_by_test_id("text-input").fill("看视频 1")
        await page.get_by_test_id("send").click()
        reply = page.get_by_test_id("bot-text").filter(has_text="马上发到这里")
        await expect(reply).to_have_count(1)
        title = re.search(r"《(.+?)》", await reply.text_content() or "").group(1)  # type: ignore[union-attr]
        bubble = page.get_by_test_id("bot-video").last
        await expect(bubble).to_contain_text(title)
        duration, position = await bubble.locator("video").evaluate("""async (v) => {
            if (v.readyState < 1) await new Promise(r => v.addEventListener('loadedmetadata', r, {once: true}));
            v.currentTime = 2;
            await new Promise(r => v.addEventListener('seeked', r, {once: true}));
            return [v.duration, v.currentTime];
        }""")
        assert duration >= 4.5 and position == pytest.approx(2.0, abs=0.1)
