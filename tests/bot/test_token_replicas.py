"""N replicas (own engines and clients, one PostgreSQL database) needing the WeCom token and the JS-SDK ticket at
the same instant make exactly one gettoken and one get_jsapi_ticket against the sandbox, which counts them; when
WeCom rejects the shared token, all of them together fetch exactly one new one."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import make_engine, make_session_factory
from bot.token_store import DatabaseTokenStore
from integrations.wecom.client import WeComClient
from integrations.wecom.sandbox import Sandbox, SandboxConfig
from tests.conftest import DEMO_AES_KEY

pytestmark = pytest.mark.db
REPLICAS = 8


@pytest.fixture
async def engines(engine: AsyncEngine, db_url: str) -> AsyncIterator[list[AsyncEngine]]:
    if not db_url.startswith("postgresql"):
        pytest.skip("replicas share PostgreSQL; SQLite is single-process")
    made = [make_engine(db_url) for _ in range(REPLICAS)]
    yield made
    for other in made:
        await other.dispose()


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    fake = Sandbox(SandboxConfig(encoding_aes_key=DEMO_AES_KEY))
    await fake.start()
    yield fake
    await fake.stop()


async def test_replicas_fetch_the_token_and_the_ticket_once(engines: list[AsyncEngine], sandbox: Sandbox) -> None:
    fetched: list[str] = []
    async with aiohttp.ClientSession() as http:
        clients = [WeComClient(http, corp_id=sandbox.config.corp_id, secret=sandbox.config.secret,
                               agent_id=sandbox.config.agent_id, api_base=sandbox.base_url,
                               token_store=DatabaseTokenStore(make_session_factory(e), on_fetch=fetched.append))
                   for e in engines]
        tokens = await asyncio.gather(*(c.access_token() for c in clients))
        tickets = await asyncio.gather(*(c.jsapi_ticket() for c in clients))
        assert len(set(tokens)) == 1 and len(set(tickets)) == 1
        assert dict(sandbox.state.fetches) == {"gettoken": 1, "get_jsapi_ticket": 1}
        assert len(fetched) == 2
        sandbox.expire_tokens()  # WeCom rejects the shared token: every replica asks for a different one
        renewed = await asyncio.gather(*(c.access_token(force_refresh=True) for c in clients))
        assert len(set(renewed)) == 1 and renewed[0] != tokens[0]
        assert sandbox.state.fetches["gettoken"] == 2


async def test_one_process_on_any_database_fetches_once(session_factory, sandbox: Sandbox) -> None:  # type: ignore[no-untyped-def]
    async with aiohttp.ClientSession() as http:
        client = WeComClient(http, corp_id=sandbox.config.corp_id, secret=sandbox.config.secret,
                             agent_id=sandbox.config.agent_id, api_base=sandbox.base_url,
                             token_store=DatabaseTokenStore(session_factory))
        assert len(set(await asyncio.gather(*(client.access_token() for _ in range(10))))) == 1
        await client.jsapi_ticket()
        await client.jsapi_ticket()
    assert dict(sandbox.state.fetches) == {"gettoken": 1, "get_jsapi_ticket": 1}
