"""Shared fixtures: a real database per test (SQLite, or PostgreSQL from OPSBOT_TEST_DATABASE_URL) and the
whole stack — the bot on a real port, pointed at a real WeCom sandbox that sends it encrypted callbacks."""
from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import bot.models  # noqa: F401 - every table on the metadata
from bot.context import Services
from bot.db import Base, make_engine, make_session_factory, utcnow
from bot.models import User
from bot.qr import QrSigner
from bot.settings import Settings, settings_from_dict
from opsbot.app import SERVICES, create_app

DEMO_AES_KEY = "b3BzYm90LWRlbW8tYWVzLWtleS0zMi1ieXRlcy1vayE"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return os.environ.get("OPSBOT_TEST_DATABASE_URL") or f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


async def reset_schema(engine: AsyncEngine) -> None:
    """Every test starts from empty tables, on SQLite and on a shared PostgreSQL database alike."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Tables of another version (a benchmark of an older checkout, a branch) may hold foreign keys to
            # ours, which drop_all does not know about: start from an empty schema instead.
            await conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            await conn.exec_driver_sql("CREATE SCHEMA public")
        else:
            await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(db_url)
    await reset_schema(eng)
    yield eng
    await eng.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_session_factory(engine)


def postgres_only(db_url: str) -> None:
    """Skips a test of several replicas on one database: they share PostgreSQL; SQLite serves one process."""
    if not db_url.startswith("postgresql"):
        pytest.skip("replicas share PostgreSQL; SQLite is single-process")


@pytest.fixture
async def second_engine(engine: AsyncEngine, db_url: str) -> AsyncIterator[AsyncEngine]:
    """Another replica's own connection pool on the test database (after `engine` made the schema)."""
    postgres_only(db_url)
    other = make_engine(db_url)
    yield other
    await other.dispose()


@pytest.fixture
def peer(second_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions of another replica (`second_engine`)."""
    return make_session_factory(second_engine)


def make_settings(db_url: str, api_base: str = "http://127.0.0.1:9", **overrides: dict[str, Any]) -> Settings:
    data: dict[str, Any] = {
        "plant": {"name": "测试工厂", "timezone": "Asia/Shanghai", "admin_contact": "管理员 王工"},
        "server": {"host": "127.0.0.1", "port": 0, "session_secret": "test-session-secret"},
        "wecom": {"corp_id": "wwsandbox0000000001", "agent_id": 1000002, "secret": "sandbox-secret",
                  "token": "sandboxtoken", "encoding_aes_key": DEMO_AES_KEY, "api_base": api_base,
                  "oauth_base": api_base},
        "database": {"url": db_url},
        "qr": {"secret": "test-qr-secret-0123456789"},
        "outbox": {"poll_interval_s": 0.05},
    }
    for section, values in overrides.items():
        data.setdefault(section, {}).update(values)
    return settings_from_dict(data)


@dataclass
class Stack:
    """The bot and the sandbox, wired to each other over loopback HTTP."""

    sandbox: Any
    services: Services
    bot_url: str
    app: web.Application

    async def add_user(self, userid: str, name: str, roles: list[str], **fields: Any) -> User:
        async with self.services.sessions.begin() as session:
            user = User(wecom_userid=userid, name=name, roles=roles, **fields)
            session.add(user)
        self.sandbox.add_user(userid, name)
        return user


@pytest.fixture
def stack_overrides() -> dict[str, dict[str, Any]]:
    """Override per test module to change settings of the stack."""
    return {}


@pytest.fixture
async def sim() -> AsyncIterator[Any]:
    """A small plant's OPC UA simulator on loopback (the equipment tests read it with the real collector)."""
    from tests.bot.equipment.support import make_sim

    simulator = make_sim()
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
def stack_routers() -> list[Any] | None:
    """Override per test module to run the stack with your own routers (None: the product's routers)."""
    return None


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return utcnow


@pytest.fixture
async def stack(engine: AsyncEngine, db_url: str, aiohttp_server: Any, stack_overrides: dict[str, Any],
                clock: Callable[[], datetime], stack_routers: list[Any] | None) -> AsyncIterator[Stack]:
    from integrations.wecom.sandbox import Sandbox, SandboxConfig

    sandbox = Sandbox(SandboxConfig(encoding_aes_key=DEMO_AES_KEY, callback_timeout_s=5.0))
    base = await sandbox.start()
    settings = make_settings(db_url, api_base=base, **stack_overrides)
    app = create_app(settings, clock=clock, routers=stack_routers)
    server = await aiohttp_server(app)
    bot_url = str(server.make_url("")).rstrip("/")
    settings.server.public_url = bot_url
    services = app[SERVICES]
    services.qr = QrSigner(settings.qr.secret, bot_url)  # the port is known only now: labels point at it
    sandbox.config.callback_url = f"{bot_url}/wecom/callback"
    try:
        yield Stack(sandbox, services, bot_url, app)
    finally:
        await server.close()  # the bot (and its outbox sender) first, while the sandbox still answers
        await sandbox.stop()


async def eventually(check: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
    """Polls an async or plain check until it returns something truthy; fails loudly at the timeout."""
    import asyncio
    import inspect

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
