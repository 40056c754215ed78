"""The phone simulator's routes on the sandbox: the page, its assets, its config and the card lookup."""
from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from integrations.wecom.sandbox import Sandbox, SandboxConfig
from integrations.wecom.sandbox.phone import mount_phone


@pytest.fixture
async def phone() -> AsyncIterator[Sandbox]:
    box = Sandbox(SandboxConfig(users={"zhangwei": "张伟"}, callback_url="http://127.0.0.1:8765/wecom/callback"))
    mount_phone(box)
    await box.start()
    try:
        yield box
    finally:
        await box.stop()


async def test_page_and_assets_are_served(phone: Sandbox) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{phone.base_url}/phone") as response:
            page = await response.text()
            assert response.status == 200 and "opsbot 生产助手" in page
        for asset in ("phone.js", "render.js", "phone.css"):
            async with http.get(f"{phone.base_url}/phone/static/{asset}") as response:
                assert response.status == 200, asset
        async with http.get(f"{phone.base_url}/", allow_redirects=False) as response:
            assert response.status == 302 and response.headers["Location"] == "/phone"
        async with http.get(f"{phone.base_url}/phone/config.json") as response:
            config = await response.json()
    assert config == {"corp_id": phone.config.corp_id, "agent_id": phone.config.agent_id,
                      "bot_url": "http://127.0.0.1:8765"}


async def test_response_code_leads_to_its_card(phone: Sandbox) -> None:
    code = phone.state.issue_response_code("task-42", {"zhangwei"})
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{phone.base_url}/phone/api/task", params={"response_code": code}) as response:
            assert await response.json() == {"task_id": "task-42"}
        async with http.get(f"{phone.base_url}/phone/api/task", params={"response_code": "nope"}) as response:
            assert response.status == 404
