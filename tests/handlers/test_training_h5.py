"""The player through WeCom OAuth: Range answers with exact bytes, refusals (no login, unknown code, a forged QR,
a path outside the media folder), and the counting rules on a clock the test moves."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.qr import QrPayload
from tests.bot.training.support import Clock, media_copy, training_overrides
from tests.conftest import Stack

from .training_support import phone, progress_of, release_all, seed_plant, views_of

pytestmark = pytest.mark.db
TICK = 5.0


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def stack_overrides(tmp_path: Path) -> dict[str, dict[str, Any]]:
    return training_overrides(media_copy(tmp_path / "media"))


def beat_key(html: str) -> str:
    match = re.search(r'var BEAT = "([^"]+)"', html)
    assert match, "no heartbeat key on the page"
    return match.group(1)


def video_url(stack: Stack, html: str) -> str:
    match = re.search(r'<video id="video" src="([^"]+)"', html)
    assert match, "no video on the page"
    return stack.bot_url + match.group(1).replace("&amp;", "&")


async def beat(http: Any, stack: Stack, key: str, position: float, seek: bool = False) -> dict[str, Any]:
    async with http.post(f"{stack.bot_url}/h5/training/beat",
                         json={"key": key, "position": f"{position:.3f}", "seek": seek}) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_range_requests_get_206_with_exact_bytes(stack: Stack) -> None:
    await seed_plant(stack)
    await release_all(stack)
    data = (Path(stack.services.settings.feature("training").media_path) / "safety.mp4").read_bytes()
    async with phone(stack, "op1") as http:
        async with http.get(f"{stack.bot_url}/h5/training/SAFE-01") as response:
            url = video_url(stack, await response.text())
        async with http.get(url, headers={"Range": "bytes=100-1099"}) as response:
            assert response.status == 206
            assert response.headers["Content-Range"] == f"bytes 100-1099/{len(data)}"
            assert await response.read() == data[100:1100]
        async with http.get(url, headers={"Range": f"bytes={len(data) - 10}-"}) as response:
            assert response.status == 206 and await response.read() == data[-10:]
        async with http.get(url) as response:
            assert response.status == 200 and await response.read() == data
            assert response.headers["Accept-Ranges"] == "bytes"
        async with http.get(url, headers={"Range": f"bytes={len(data) + 5}-"}) as response:
            assert response.status == 416


async def test_refusals(stack: Stack) -> None:
    await seed_plant(stack)
    await release_all(stack)
    async with phone(stack, "op1") as http:
        async with http.get(f"{stack.bot_url}/h5/training/NOPE-1") as response:
            assert response.status == 404
        async with http.get(f"{stack.bot_url}/h5/training/NOPE-1/video") as response:
            assert response.status == 403  # no signed URL (test_training_signed.py: forged, expired, unknown)
        for path in ("/h5/training/..%2F..%2Fetc%2Fpasswd/video", "/h5/training/../../etc/passwd",
                     "/h5/training/SAFE-01/video/../../../../etc/passwd"):
            async with http.get(f"{stack.bot_url}{path}") as response:
                assert response.status in (403, 404) and b"root:" not in await response.read()
        assert stack.services.qr is not None
        token = stack.services.qr.url(QrPayload("training", ("SAFE-01",))).rsplit("/", 1)[1]
        forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        async with http.get(f"{stack.bot_url}/h5/q/{forged}") as response:
            assert response.status == 400 and "二维码无效" in await response.text()
        async with http.get(f"{stack.bot_url}/h5/training/LEAD-01") as response:  # a team lead's item
            assert response.status == 403 and "不适用" in await response.text()


async def test_a_browser_without_oauth_is_refused(stack: Stack) -> None:
    """Never logged in: the page sends it to WeCom OAuth; the video and a heartbeat without what the page signs
    are refused and change nothing."""
    await seed_plant(stack)
    await release_all(stack)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{stack.bot_url}/h5/training/SAFE-01", allow_redirects=False) as response:
            assert response.status == 302 and "oauth" in response.headers["Location"].lower()
        async with http.get(f"{stack.bot_url}/h5/training/SAFE-01/video", allow_redirects=False) as response:
            assert response.status == 403
        async with http.post(f"{stack.bot_url}/h5/training/beat", json={"view": 1, "position": "1"},
                             allow_redirects=False, headers={"Origin": stack.bot_url}) as response:
            assert response.status == 403
    assert await views_of(stack, "SAFE-01") == []


async def test_only_real_play_counts_and_completion_needs_the_quiz(stack: Stack, clock: Clock) -> None:
    await seed_plant(stack)
    await release_all(stack)
    async with phone(stack, "op1") as http:
        async with http.get(f"{stack.bot_url}/h5/training/SAFE-01?from=chat") as response:
            assert response.status == 200
            html = await response.text()
        view = beat_key(html)
        assert (await beat(http, stack, view, 0, seek=True))["percent"] == 0
        clock.advance(1)
        skipped = await beat(http, stack, view, 5.9)  # dragged to the end: one second passed
        assert skipped["percent"] == 0 and not skipped["completed"]
        await beat(http, stack, view, 0, seek=True)  # back to the start, then real play
        for position in (2.5, 5.0, 6.0):
            clock.advance(2.5)
            answer = await beat(http, stack, view, position)
        assert answer["percent"] == 100 and not answer["completed"]  # the quiz is still open
        [row] = await progress_of(stack, "SAFE-01")
        assert row.played == [[0.0, 6.0]] and row.completed_at is None

        key = re.search(r'name="key" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
        form = {"key": key, "q0": "0", "q1": "0", "q2": "0"}  # one right of three
        async with http.post(f"{stack.bot_url}/h5/training/SAFE-01/quiz", data=form) as response:
            assert response.status == 200 and "测验未通过" in await response.text()
        async with http.post(f"{stack.bot_url}/h5/training/SAFE-01/quiz", data=form | {"q0": "1", "q2": "1"}) as r:
            page = await r.text()
            assert "测验通过" in page and "已完成 ✓" in page
    [row] = await progress_of(stack, "SAFE-01")
    assert row.completed_at is not None and row.quiz_passed
    assert {v.source for v in await views_of(stack, "SAFE-01")} == {"chat", "page"}


async def test_a_station_scan_opens_the_player_and_counts_as_scan(stack: Stack) -> None:
    await seed_plant(stack)
    await release_all(stack)
    assert stack.services.qr is not None
    url = stack.services.qr.url(QrPayload("training", ("SCAN-01",)))
    async with phone(stack, "op1") as http, http.get(url) as response:
        assert response.status == 200 and "扫码报工三步走" in await response.text()
    assert [v.source for v in await views_of(stack, "SCAN-01")] == ["scan"]
