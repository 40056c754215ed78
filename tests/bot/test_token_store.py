"""Tokens live in the database, so a second process reuses the first one's token instead of calling gettoken."""
from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web

from bot.token_store import DatabaseTokenStore
from integrations.wecom.client import WeComClient
from integrations.wecom.sandbox import Sandbox, SandboxConfig
from tests.conftest import DEMO_AES_KEY

pytestmark = pytest.mark.db


async def test_a_second_client_reuses_the_stored_token(session_factory) -> None:
    sandbox = Sandbox(SandboxConfig(encoding_aes_key=DEMO_AES_KEY))
    calls: list[str] = []

    @web.middleware
    async def count(request: web.Request, handler):  # type: ignore[no-untyped-def]
        calls.append(request.path)
        return await handler(request)

    sandbox.app.middlewares.append(count)
    await sandbox.start()
    try:
        async with aiohttp.ClientSession() as http:
            def client() -> WeComClient:
                return WeComClient(http, corp_id="wwsandbox0000000001", secret="sandbox-secret", agent_id=1000002,
                                   api_base=sandbox.base_url, token_store=DatabaseTokenStore(session_factory))
            first = await client().access_token()
            second = await client().access_token()  # as another process would: a fresh client, same database
        assert first == second
        assert calls.count("/cgi-bin/gettoken") == 1
    finally:
        await sandbox.stop()
