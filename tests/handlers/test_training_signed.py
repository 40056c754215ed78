"""What the player page signs so that its busiest requests skip the database: the video and cover URLs (checked
by signature only, still Range/206) and the heartbeat key (one SELECT and two UPDATEs, no user lookup); and the
refusals: forged, altered, expired, another kind, an unknown code, a file that left the media folder."""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from sqlalchemy import event

from handlers.training_h5 import signer_of
from tests.bot.training.support import Clock, media_copy, training_overrides
from tests.conftest import Stack

from .test_training_h5 import beat, beat_key, video_url
from .training_support import phone, progress_of, release_all, seed_plant

pytestmark = pytest.mark.db


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def stack_overrides(tmp_path: Path) -> dict[str, dict[str, Any]]:
    return training_overrides(media_copy(tmp_path / "media"))


BACKGROUND = (" outbox", "send_quota")  # the stack's outbox sender polls its own tables meanwhile


@contextmanager
def statements(stack: Stack) -> Iterator[list[str]]:
    """Every SQL statement the bot runs while the block runs, but the outbox sender's polling."""
    seen: list[str] = []
    engine = stack.services.engine
    assert engine is not None

    def executed(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if not any(table in sql for table in BACKGROUND):
            seen.append(sql)

    event.listen(engine.sync_engine, "before_cursor_execute", executed)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", executed)


def altered(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | changes
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode({k: v for k, v in query.items() if v})}"


async def opened(http: Any, stack: Stack, code: str = "SAFE-01") -> str:
    async with http.get(f"{stack.bot_url}/h5/training/{code}") as response:
        assert response.status == 200
        return await response.text()


async def test_the_video_is_served_by_signature_alone_with_range(stack: Stack) -> None:
    await seed_plant(stack)
    await release_all(stack)
    data = (stack.services.settings.feature("training").media_path / "safety.mp4").read_bytes()
    async with phone(stack, "op1") as http:
        html = await opened(http, stack)
        url = video_url(stack, html)
        cover = stack.bot_url + re.search(r'poster="([^"]+)"', html).group(1).replace("&amp;", "&")  # type: ignore
        with statements(stack) as seen:
            for start in (0, 1000, len(data) - 500):
                async with http.get(url, headers={"Range": f"bytes={start}-{start + 99}"}) as response:
                    assert response.status == 206 and await response.read() == data[start:start + 100]
            async with http.get(cover) as response:
                assert response.status == 200 and (await response.read())[:2] == b"\xff\xd8"  # a JPEG
        assert seen == []
    async with phone(stack, "lead1") as other:  # the URL is the member's own, but no login is needed to use it
        async with other.get(url, headers={"Range": "bytes=0-9"}) as response:
            assert response.status == 206 and await response.read() == data[:10]


async def test_forged_altered_or_expired_media_urls_are_refused(stack: Stack, clock: Clock) -> None:
    await seed_plant(stack)
    await release_all(stack)
    async with phone(stack, "op1") as http:
        html = await opened(http, stack)
        url = video_url(stack, html)
        query = dict(parse_qsl(urlsplit(url).query))
        for forged in (altered(url, u=str(int(query["u"]) + 1)), altered(url, e=str(int(query["e"]) + 600)),
                       altered(url, v="2"), altered(url, s=query["s"][:-2] + "AA"), altered(url, s=""),
                       altered(url, u="１"), url.replace("/video?", "/cover?"),
                       url.replace("/SAFE-01/", "/SCAN-01/")):
            async with http.get(forged) as response:
                assert response.status == 403, forged
        settings = stack.services.settings.feature("training")
        clock.advance(settings.media_url_ttl_s + 600)
        async with http.get(url) as response:
            assert response.status == 403 and "expired" in await response.text()
        signer = signer_of(stack.services)
        for code, version in (("NOPE-1", 1), ("SAFE-01", 2)):  # signed by us, but no such item (version)
            signed = signer.media_url("video", code, version, 1, clock.now, 600)
            async with http.get(stack.bot_url + signed) as response:
                assert response.status == 404


async def test_a_video_replaced_by_a_link_outside_the_media_folder_is_not_served(stack: Stack,
                                                                                 tmp_path: Path) -> None:
    await seed_plant(stack)
    await release_all(stack)
    secret = tmp_path / "secret.mp4"
    secret.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"SECRET" * 100)
    async with phone(stack, "op1") as http:
        url = video_url(stack, await opened(http, stack))
        media = stack.services.settings.feature("training").media_path
        (media / "safety.mp4").unlink()
        os.symlink(secret, media / "safety.mp4")
        async with http.get(url) as response:
            assert response.status == 404 and b"SECRET" not in await response.read()


async def test_a_heartbeat_is_one_select_and_two_updates(stack: Stack, clock: Clock) -> None:
    await seed_plant(stack)
    await release_all(stack)
    async with phone(stack, "op1") as http:
        key = beat_key(await opened(http, stack))
        await beat(http, stack, key, 0, seek=True)
        clock.advance(5)
        with statements(stack) as seen:
            answer = await beat(http, stack, key, 5.0)
        assert answer["percent"] == 83
        sql = [s.split()[0].upper() for s in seen]
        assert sorted(sql) == ["SELECT", "UPDATE", "UPDATE"], seen
        assert not any("FROM users" in s for s in seen)
    [row] = await progress_of(stack, "SAFE-01")
    assert row.played == [[0.0, 5.0]] and row.position_s == 5.0


async def test_forged_expired_or_foreign_heartbeats_change_nothing(stack: Stack, clock: Clock) -> None:
    await seed_plant(stack)
    await release_all(stack)
    async with phone(stack, "op1") as http:
        key = beat_key(await opened(http, stack))
        view, user, rest = key.split(".", 2)
        await beat(http, stack, key, 0, seek=True)
        clock.advance(5)
        for forged in (f"{int(view) + 1}.{user}.{rest}", f"{view}.{int(user) + 1}.{rest}", key[:-3] + "abc",
                       "", "1.2.3", key.replace("SAFE-01", "SCAN-01")):
            async with http.post(f"{stack.bot_url}/h5/training/beat",
                                 json={"key": forged, "position": "5.000"}) as response:
                assert response.status == 403, forged
        async with http.post(f"{stack.bot_url}/h5/training/beat", json={"key": key, "position": "5.000"},
                             headers={"Origin": "https://evil.example"}) as response:
            assert response.status == 403  # the gate's origin check holds for these routes too
        async with http.post(f"{stack.bot_url}/h5/training/beat", json={"key": key, "position": "5e3"}) as response:
            assert response.status == 400
        [row] = await progress_of(stack, "SAFE-01")
        assert row.played == []
        clock.advance(stack.services.settings.feature("training").beat_key_ttl_s + 600)
        async with http.post(f"{stack.bot_url}/h5/training/beat", json={"key": key, "position": "5.000"}) as r:
            assert r.status == 403 and (await r.json())["error"] == "expired"
