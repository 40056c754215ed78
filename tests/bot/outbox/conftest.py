"""Fixtures for sender tests: a real sandbox over HTTP, a real database, and a clock the test moves."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.token_store import DatabaseTokenStore
from integrations.wecom.client import WeComClient
from integrations.wecom.limits import SendLimiter
from integrations.wecom.sandbox import Sandbox, SandboxConfig
from tests.clock import StoppedClock
from tests.conftest import DEMO_AES_KEY

USERS = {"zhangsan": "张三", "lisi": "李四", "wangwu": "王五"}


@pytest.fixture
def clock() -> StoppedClock:  # type: ignore[override]
    return StoppedClock(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    box = Sandbox(SandboxConfig(encoding_aes_key=DEMO_AES_KEY, users=dict(USERS)))
    await box.start()
    yield box
    await box.stop()


@pytest.fixture
async def client(sandbox: Sandbox, session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[WeComClient]:
    """Built as the assembly builds it, per-member limiter included, so the tests see what production does."""
    async with aiohttp.ClientSession() as http:
        yield WeComClient(http, corp_id=sandbox.config.corp_id, secret=sandbox.config.secret,
                          agent_id=sandbox.config.agent_id, api_base=sandbox.base_url,
                          token_store=DatabaseTokenStore(session_factory), max_attempts=1, backoff_base_s=0.01,
                          limiter=SendLimiter(per_member_per_minute=30, requests_per_second=40))


async def run_in_background(sender: Any) -> tuple[asyncio.Event, asyncio.Task[None]]:
    stop = asyncio.Event()
    return stop, asyncio.create_task(sender.run(stop))
