"""A request line aiohttp cannot parse is answered 400 and logged as one warning, never an ERROR traceback."""
from __future__ import annotations

import asyncio
import logging

import pytest

from tests.conftest import Stack

pytestmark = pytest.mark.db


async def raw_request(url: str, line: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(line + b"\r\nHost: x\r\n\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(200), timeout=5)
    writer.close()
    return answer


async def test_an_oversized_request_line_is_a_warning_not_a_traceback(stack: Stack,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="aiohttp.server"):
        answer = await raw_request(stack.bot_url, b"GET /wecom/callback?x=" + b"a" * 9000 + b" HTTP/1.1")
    assert answer.split(b" ", 2)[1] == b"400"
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert records and all(r.levelno == logging.WARNING and r.exc_info is None for r in records)
    assert "refused malformed HTTP request" in records[0].getMessage()
