"""A config without `[server] session_secret` must not let anyone sign an H5 login cookie (issue 10, item 1)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from itsdangerous import URLSafeTimedSerializer

from bot.router import Router
from bot.settings import ServerSettings
from bot.web.h5 import COOKIE
from opsbot.app import SERVICES, create_app
from tests.bot.web.test_h5_gate import pages
from tests.conftest import DEMO_AES_KEY, make_settings

pytestmark = pytest.mark.db
OLD_DEFAULT_SECRET = "change-me-session-secret"  # what bot/settings.py used when the config had none


@pytest.fixture
def configured_secret() -> str | None:
    return None  # None: the config has no session_secret


@pytest.fixture
async def bot_url(engine: Any, db_url: str, aiohttp_server: Any, configured_secret: str | None) -> AsyncIterator[str]:
    """The bot as the app is built from a config that omits the secret (the in-process path skips the CLI check)."""
    from integrations.wecom.sandbox import Sandbox, SandboxConfig

    sandbox = Sandbox(SandboxConfig(encoding_aes_key=DEMO_AES_KEY, callback_timeout_s=5.0))
    base = await sandbox.start()
    settings = make_settings(db_url, api_base=base)
    # the dataclass default is what a config without the line gets
    settings.server.session_secret = configured_secret or ServerSettings().session_secret
    routers: list[Router] = [pages()]
    app = create_app(settings, routers=routers)
    server = await aiohttp_server(app)
    async with app[SERVICES].sessions.begin() as session:
        from bot.models import User

        session.add(User(wecom_userid="u001", name="操作工甲", roles=["operator"]))
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await sandbox.stop()


async def open_with_cookie(bot_url: str, secret: str) -> tuple[int, str]:
    cookie = URLSafeTimedSerializer(secret, salt="h5").dumps("u001")
    async with aiohttp.ClientSession(cookies={COOKIE: cookie}) as http:
        async with http.get(f"{bot_url}/h5/whoami", allow_redirects=False) as resp:
            return resp.status, await resp.text()


@pytest.mark.parametrize("secret", [OLD_DEFAULT_SECRET, ""], ids=["old-default", "empty"])
async def test_a_cookie_signed_with_a_public_secret_opens_no_page(bot_url: str, secret: str) -> None:
    status, body = await open_with_cookie(bot_url, secret)
    assert "user=u001" not in body
    assert status == 302  # sent to WeCom's login instead


@pytest.mark.parametrize("configured_secret", ["k3Jq0s-generated-for-this-test-9XbY2mZ"])
async def test_a_cookie_signed_with_the_configured_secret_opens_the_page(bot_url: str,
                                                                          configured_secret: str) -> None:
    """The control: the cookie built above is the real thing, so the refusals are about the secret alone."""
    assert await open_with_cookie(bot_url, configured_secret) == (200, "user=u001")
