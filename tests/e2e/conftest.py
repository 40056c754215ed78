"""Browser tests: headless Debian chromium driven by Playwright, against the demo stack."""
from __future__ import annotations

import os
from pathlib import Path

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
