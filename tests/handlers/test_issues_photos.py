"""Photos sent with an issue: kept byte for byte; a file that is not an image, or over the limit, is refused
with one clear message to the sender; WeCom's transient failures are retried."""
from __future__ import annotations

from typing import Any

import pytest

from bot.models.issues import PhotoStatus
from tests.conftest import Stack
from tests.handlers.issues_support import issues, photos_settled, png, seed_people


@pytest.fixture
def stack_overrides() -> dict[str, dict[str, Any]]:
    return {"issues": {"max_photo_mb": 1}}


async def _raise(stack: Stack) -> None:
    await seed_people(stack)
    await stack.sandbox.send_text("op1", "问题 质检台灯不亮")
    await stack.sandbox.send_text("op1", "5")


def told(stack: Stack, userid: str, words: str) -> Any:
    return lambda m: m.api == "message/send" and userid in m.touser and words in m.payload.get("content", "")


async def test_a_file_that_is_not_an_image_is_refused_with_a_message(stack: Stack) -> None:
    await _raise(stack)
    await stack.sandbox.send_image("op1", b"%PDF-1.4 not a photo at all", "application/pdf", "a.pdf")
    [photo] = await photos_settled(stack)
    assert photo.status == PhotoStatus.REFUSED and photo.data is None
    message = await stack.sandbox.wait_for_message(told(stack, "op1", "不是图片"))
    [issue] = await issues(stack)
    assert f"问题 {issue.number} 照片" in message.payload["content"]


async def test_a_photo_over_the_limit_is_refused(stack: Stack) -> None:
    await _raise(stack)
    await stack.sandbox.send_image("op1", png(1024 * 1024 + 10), "image/png")
    [photo] = await photos_settled(stack)
    assert photo.status == PhotoStatus.REFUSED and photo.error == "too_large"
    await stack.sandbox.wait_for_message(told(stack, "op1", "超过 1 MB"))


async def test_a_transient_media_get_failure_is_retried(stack: Stack) -> None:
    await _raise(stack)
    stack.sandbox.inject_fault("media/get", errcode=-1, times=8)  # the client's own retries give up first
    photo_bytes = png(300)
    await stack.sandbox.send_image("op1", photo_bytes, "image/png")
    from bot.issues.photos import fetch_pending

    first = await fetch_pending(stack.services, stack.services.clock())
    assert first.retrying == 1 or first.stored == 0
    stack.sandbox.state.faults.clear()
    later = stack.services.clock()
    from datetime import timedelta

    await fetch_pending(stack.services, later + timedelta(minutes=5))
    [photo] = await photos_settled(stack)
    assert photo.status == PhotoStatus.STORED and photo.data == photo_bytes


async def test_an_image_outside_an_issue_says_how_to_add_one(stack: Stack) -> None:
    await seed_people(stack)
    reply = (await stack.sandbox.send_image("op1", png(100), "image/png")).reply["Content"]
    assert "问题 <描述>" in reply


async def test_the_phone_sends_a_photo_through_the_sandbox_api(stack: Stack) -> None:
    import base64

    import aiohttp

    await _raise(stack)
    photo_bytes = png(2000)
    body = {"user": "op1", "data": "data:image/png;base64," + base64.b64encode(photo_bytes).decode(),
            "content_type": "image/png", "filename": "现场.png"}
    async with aiohttp.ClientSession() as http, http.post(f"{stack.sandbox.base_url}/sandbox/api/send_image",
                                                           json=body) as response:
        assert response.status == 200 and "照片已收到" in (await response.json())["reply"]["Content"]
    [photo] = await photos_settled(stack)
    assert photo.data == photo_bytes
