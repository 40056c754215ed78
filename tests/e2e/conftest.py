"""Browser tests: headless Debian chromium driven by Playwright, against the demo stack."""
from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.demo.conftest import DemoStack, demo_stack  # noqa: F401 - the fixture, shared with tests/demo

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def require_chromium() -> None:
    """Browser tests skip where chromium is absent, except in CI where they must run."""
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: CI must run the browser tests (make system-deps installs it)")
    pytest.skip(f"{CHROMIUM} not installed")


@contextlib.asynccontextmanager
async def phone_tab(timeout_ms: int = 10_000, **context: Any) -> AsyncIterator[Any]:
    """A Chromium tab the size of a phone; a JavaScript error on any page it showed fails the test."""
    require_chromium()
    from playwright.async_api import async_playwright

    options = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "locale": "zh-CN",
               "is_mobile": True, "has_touch": True} | context
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        browser_context = await browser.new_context(**options)
        browser_context.set_default_timeout(timeout_ms)
        tab = await browser_context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda error: errors.append(str(error)))
        try:
            yield tab
        finally:
            await browser.close()
        assert not errors, f"JavaScript errors on the phone page: {errors}"


@pytest.fixture
async def page(demo_stack: DemoStack) -> AsyncIterator[Any]:  # noqa: F811 - demo_stack is the imported fixture
    async with phone_tab() as tab:
        yield tab
