"""Issue 10 item 6: a hostile timestamp on the callback URL is a 4xx, never a 500 (unauthenticated input)."""
from __future__ import annotations

import aiohttp
import pytest

from tests.conftest import Stack
from tests.handlers.hostile import crashes

pytestmark = pytest.mark.db


@pytest.mark.parametrize("timestamp", ["9" * 400, "-" + "9" * 400, "9" * 5000, "１７００００００００", "1_700_000_000",
                                       " 1700000000", "1e9", ""])
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_hostile_timestamp_is_refused_with_a_4xx(stack: Stack, caplog: pytest.LogCaptureFixture,
                                                         method: str, timestamp: str) -> None:
    params = {"msg_signature": "0" * 40, "timestamp": timestamp, "nonce": "n", "echostr": "x"}
    async with aiohttp.ClientSession() as http:
        async with http.request(method, f"{stack.bot_url}/wecom/callback", params=params,
                                data=b"<xml><Encrypt>x</Encrypt></xml>" if method == "POST" else None) as resp:
            status, text = resp.status, await resp.text()
    assert 400 <= status < 500 and text, (status, text[:200])
    assert not crashes(caplog), crashes(caplog)
