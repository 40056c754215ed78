"""Video messages in the sandbox as WeCom has them: media/upload?type=video takes an MP4 up to 10 MB (40011 beyond,
40004 for what is not an MP4), a `video` message needs that media_id (title <= 128, description <= 512 bytes),
and the stored bytes are served with Range (206) so the phone's <video> can seek."""
from __future__ import annotations

from typing import Any

import aiohttp

from integrations.wecom.sandbox import Sandbox
from tests.integrations.wecom.sandbox.conftest import Api

MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 40


async def upload(api: Api, sandbox: Sandbox, data: bytes, kind: str = "video") -> dict[str, Any]:
    form = aiohttp.FormData()
    form.add_field("media", data, filename="clip.mp4", content_type="video/mp4")
    async with api.http.post(f"{sandbox.base_url}/cgi-bin/media/upload",
                             params={"access_token": api.token, "type": kind}, data=form) as response:
        return await response.json()


async def test_video_upload_takes_mp4_up_to_10_mb(api: Api, sandbox: Sandbox) -> None:
    uploaded = await upload(api, sandbox, MP4)
    assert uploaded["errcode"] == 0 and uploaded["type"] == "video" and uploaded["media_id"]
    assert (await upload(api, sandbox, b"GIF89a" + bytes(100)))["errcode"] == 40004
    assert (await upload(api, sandbox, MP4 + bytes(10 * 1024 * 1024)))["errcode"] == 40011
    assert (await upload(api, sandbox, MP4[:8] + bytes(10 * 1024 * 1024 - 8)))["errcode"] == 0  # exactly 10 MB


async def test_video_message_rules(api: Api, sandbox: Sandbox) -> None:
    media_id = (await upload(api, sandbox, MP4))["media_id"]
    ok = await api.send("video", {"media_id": media_id, "title": "安" * 42, "description": "说" * 170})
    assert ok["errcode"] == 0
    [sent] = [m for m in sandbox.state.messages if m.msgtype == "video"]
    assert sent.payload["media_id"] == media_id and sent.payload["title"] == "安" * 42
    assert (await api.send("video", {"media_id": media_id, "title": "安" * 43}))["errcode"] == 45002
    assert (await api.send("video", {"media_id": media_id, "description": "说" * 171}))["errcode"] == 45002
    assert (await api.send("video", {"media_id": "unknown", "title": "x"}))["errcode"] == 40007
    assert (await api.send("video", {"media_id": media_id}))["errcode"] == 0  # title and description optional


async def test_stored_video_is_served_with_range(api: Api, sandbox: Sandbox) -> None:
    media_id = (await upload(api, sandbox, MP4))["media_id"]
    url = f"{sandbox.base_url}/sandbox/media/{media_id}"
    async with api.http.get(url, headers={"Range": "bytes=100-199"}) as response:
        assert response.status == 206 and await response.read() == MP4[100:200]
        assert response.headers["Content-Range"] == f"bytes 100-199/{len(MP4)}"
    async with api.http.get(url, headers={"Range": "bytes=-10"}) as response:
        assert response.status == 206 and await response.read() == MP4[-10:]
    async with api.http.get(url) as response:
        assert response.status == 200 and await response.read() == MP4 and response.content_type == "video/mp4"
    async with api.http.get(url, headers={"Range": f"bytes={len(MP4)}-"}) as response:
        assert response.status == 416
