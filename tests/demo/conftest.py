"""The demo stack: seeded plant, the bot with the demo pages on a real port, the sandbox with the phone simulator."""
from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import utcnow
from bot.models import User
from opsbot.demo.seed import seed_if_empty
from tests.conftest import DEMO_AES_KEY, make_settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DemoStack:
    sandbox: Any
    bot_url: str
    phone_url: str
    services: Any


@pytest.fixture
async def demo_stack(engine: Any, db_url: str,
                     session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[DemoStack]:
    from integrations.wecom.sandbox import Sandbox, SandboxConfig
    from integrations.wecom.sandbox.phone import mount_phone
    from opsbot.app import SERVICES
    from opsbot.cli.serve import start_site
    from opsbot.demo.runner import demo_app, install_menu

    await seed_if_empty(session_factory, utcnow(), ZoneInfo("Asia/Shanghai"))
    async with session_factory() as session:
        users = {userid: name for userid, name in (await session.execute(select(User.wecom_userid, User.name)))}
    sandbox = Sandbox(SandboxConfig(encoding_aes_key=DEMO_AES_KEY, users=users, callback_timeout_s=5.0))
    mount_phone(sandbox)
    sandbox_url = await sandbox.start()
    port = free_port()
    bot_url = f"http://127.0.0.1:{port}"
    settings = make_settings(db_url, api_base=sandbox_url, server={"port": port, "public_url": bot_url},
                             plant={"name": "示范工厂"})
    app = demo_app(settings)
    runner = await start_site(app, "127.0.0.1", port, "bot")
    sandbox.config.callback_url = f"{bot_url}/wecom/callback"
    await install_menu(app[SERVICES], settings)  # as `opsbot demo` does
    try:
        yield DemoStack(sandbox, bot_url, f"{sandbox_url}/phone", app[SERVICES])
    finally:
        await runner.cleanup()
        await sandbox.stop()
