"""`看视频 序号`: a clip small enough for WeCom (10 MB) arrives in chat as a `video` message, uploaded by the outbox's
media step (media/upload?type=video in the sandbox); a bigger one or an external video gets the page link
instead; playing the message counts nothing (watching counts on the page only)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.models import OutboxMessage
from bot.training.video_message import MB
from tests.bot.training.support import media_copy, training_overrides
from tests.conftest import Stack

from .training_support import progress_of, release_all, seed_plant

pytestmark = pytest.mark.db
CATALOG = """
[[item]]
code = "BIG-01"
title = "大视频"
roles = ["operator"]
video = "safety.mp4"

[[item]]
code = "CLIP-01"
title = "扫码报工小视频"
description = "三步完成报工。"
roles = ["operator"]
video = "dispatch.mp4"
cover = "dispatch.jpg"

[[item]]
code = "EXT-01"
title = "外部视频"
roles = ["operator"]
url = "https://video.example.invalid/ext.mp4"
duration = 60
"""


@pytest.fixture
def stack_overrides(tmp_path: Path) -> dict[str, dict[str, Any]]:
    media = media_copy(tmp_path / "media")
    (tmp_path / "catalog.toml").write_text(CATALOG, encoding="utf-8")
    small, big = (media / "dispatch.mp4").stat().st_size, (media / "safety.mp4").stat().st_size
    assert small < big
    # The limit between the two clips stands in for WeCom's 10 MB (the sandbox's own limit: test_video.py).
    return training_overrides(media, catalog=str(tmp_path / "catalog.toml"),
                              video_message_max_mb=(small + big) / 2 / MB)


async def videos_queued(stack: Stack) -> int:
    async with stack.services.sessions() as session:
        return int(await session.scalar(select(func.count()).where(OutboxMessage.msgtype == "video")) or 0)


async def test_a_small_clip_arrives_as_a_video_message(stack: Stack) -> None:
    await seed_plant(stack)
    await release_all(stack)
    listing = (await stack.sandbox.send_text("op1", "培训")).reply["Content"]
    assert "2. <a" in listing and "扫码报工小视频</a> · 未看 🎬" in listing and "看视频 序号" in listing
    assert "大视频</a> · 未看\n" in listing + "\n" and "外部视频</a> · 未看 🎬" not in listing

    reply = (await stack.sandbox.send_text("op1", "看视频 2")).reply["Content"]
    assert "马上发到这里" in reply and "/h5/training/CLIP-01?from=chat" in reply and "不计入学习进度" in reply
    sent = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "video" and m.touser == ["op1"])
    assert sent.payload["title"] == "扫码报工小视频" and "三步完成报工" in sent.payload["description"]
    media = stack.sandbox.state.media[sent.payload["media_id"]]
    clip = stack.services.settings.feature("training").media_path / "dispatch.mp4"
    assert media.type == "video" and media.content_type == "video/mp4" and media.data == clip.read_bytes()
    assert await progress_of(stack, "CLIP-01") == []  # a video message is not watching

    await stack.sandbox.send_text("op1", "看视频 clip-01")  # the code works too
    await stack.sandbox.wait_for_message(lambda m: m.msgtype == "video" and m.id > sent.id)


async def test_too_big_or_external_videos_open_on_the_page(stack: Stack) -> None:
    await seed_plant(stack)
    await release_all(stack)
    big = (await stack.sandbox.send_text("op1", "看视频 1")).reply["Content"]
    assert "视频较大" in big and "/h5/training/BIG-01?from=chat" in big
    external = (await stack.sandbox.send_text("op1", "看视频 EXT-01")).reply["Content"]
    assert "外部视频" in external and "/h5/training/EXT-01?from=chat" in external
    for words, expected in (("看视频", "用法"), ("看视频 NOPE", "没有找到"), ("看视频 0", "序号")):
        assert expected in (await stack.sandbox.send_text("op1", words)).reply["Content"], words
    assert "没有找到" in (await stack.sandbox.send_text("lead1", "看视频 CLIP-01")).reply["Content"]  # not for leads
    assert await videos_queued(stack) == 0
