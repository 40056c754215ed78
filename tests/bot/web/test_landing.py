"""The bot's root page says what runs; outside the demo it exposes no label sheet (the bot is internet-facing)."""
from __future__ import annotations

import aiohttp
import pytest

from tests.conftest import Stack

pytestmark = pytest.mark.db


async def test_landing_page_outside_the_demo(stack: Stack) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(stack.bot_url + "/") as resp:
            body = await resp.text()
        async with http.get(stack.bot_url + "/labels") as labels:
            assert labels.status == 404
        async with http.get(stack.bot_url + "/healthz") as health:
            assert (await health.json()) == {"ok": True}
    assert resp.status == 200 and "测试工厂" in body and "opsbot qr labels" in body and 'href="/labels"' not in body
