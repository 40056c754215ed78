"""Identity and media routes: gettoken, auth/getuserinfo, JS-SDK tickets, media upload/get."""

from __future__ import annotations

import re
import secrets

from aiohttp import BodyPartReader, web

from integrations.wecom.sandbox.common import answer, guarded, require_token
from integrations.wecom.sandbox.state import MEDIA_TTL_S, OAUTH_CODE_TTL_S, Media, SandboxState
from integrations.wecom.sandbox.validate import ApiError

MB = 1024 * 1024
# type -> (max bytes, errcode when too big)
MEDIA_LIMITS = {
    "image": (10 * MB, 40009),
    "voice": (2 * MB, 40006),
    "video": (10 * MB, 40011),
    "file": (20 * MB, 40006),
}
MIN_MEDIA_BYTES = 6  # "files over 5 bytes"
# Formats WeCom takes per type (media/upload: image JPG/PNG, voice AMR, video MP4): checked by their magic bytes
# where the bot uploads that type, so a wrong file is refused here as WeCom would (40004 invalid media type).
MEDIA_MAGIC = {"video": lambda data: data[4:8] == b"ftyp"}


def routes(state: SandboxState) -> list[web.RouteDef]:
    """The qyapi identity/media routes, bound to one sandbox state."""
    config = state.config

    async def gettoken(request: web.Request) -> web.Response:
        if request.query.get("corpid") != config.corp_id:
            raise ApiError(40013, "invalid corpid")
        if request.query.get("corpsecret") != config.secret:
            raise ApiError(40001, "invalid credential (secret)")
        state.fetches["gettoken"] += 1
        token, expires_in = state.issue_token()
        return answer(0, "ok", access_token=token, expires_in=expires_in)

    async def getuserinfo(request: web.Request) -> web.Response:
        require_token(state, request)
        code = request.query.get("code", "")
        issued = state.oauth_codes.pop(code, None)
        if issued is None or state.now() - issued[1] > OAUTH_CODE_TTL_S:
            raise ApiError(40029, "invalid code")
        userid = issued[0]
        if userid in state.users:
            return answer(0, "ok", userid=userid, user_ticket=secrets.token_urlsafe(24), expires_in=1800)
        return answer(0, "ok", openid=f"o-{userid}", external_userid="")

    def ticket(request: web.Request) -> web.Response:
        require_token(state, request)
        state.fetches[request.path.rsplit("/", 1)[-1]] += 1
        value = secrets.token_urlsafe(32)
        state.jsapi_tickets[value] = state.now() + 7200
        return answer(0, "ok", ticket=value, expires_in=7200)

    async def jsapi_ticket(request: web.Request) -> web.Response:
        return ticket(request)

    async def agent_ticket(request: web.Request) -> web.Response:
        if request.query.get("type") != "agent_config":
            raise ApiError(40058, "invalid parameter: type must be agent_config")
        return ticket(request)

    async def media_upload(request: web.Request) -> web.Response:
        require_token(state, request)
        media_type = request.query.get("type", "")
        if media_type not in MEDIA_LIMITS:
            raise ApiError(40005, "invalid type")
        max_bytes, too_big = MEDIA_LIMITS[media_type]
        if not request.content_type.startswith("multipart/"):
            raise ApiError(40058, "invalid parameter: multipart/form-data with field 'media' required")
        reader = await request.multipart()
        async for part in reader:
            if isinstance(part, BodyPartReader) and part.name == "media":
                data = bytearray()
                while chunk := await part.read_chunk():
                    data += chunk
                    if len(data) > max_bytes:
                        raise ApiError(too_big, "invalid file size")
                if len(data) < MIN_MEDIA_BYTES:
                    raise ApiError(40006, "invalid file size")
                if media_type in MEDIA_MAGIC and not MEDIA_MAGIC[media_type](bytes(data[:16])):
                    raise ApiError(40004, f"invalid media type: {media_type} must be MP4")
                media_id = secrets.token_urlsafe(32)
                content_type = part.headers.get("Content-Type", "application/octet-stream")
                state.media[media_id] = Media(
                    media_id, media_type, part.filename or media_id, content_type, bytes(data), state.now()
                )
                return answer(0, "ok", type=media_type, media_id=media_id, created_at=str(int(state.now())))
        raise ApiError(40058, "invalid parameter: multipart field 'media' missing")

    async def media_get(request: web.Request) -> web.StreamResponse:
        require_token(state, request)
        media = state.media.get(request.query.get("media_id", ""))
        if media is None or state.now() - media.created_at > MEDIA_TTL_S:
            raise ApiError(40007, "invalid media_id")
        return media_response(media, request)

    return [
        web.get("/cgi-bin/gettoken", guarded(state, "gettoken", gettoken)),
        web.get("/cgi-bin/auth/getuserinfo", guarded(state, "auth/getuserinfo", getuserinfo)),
        web.get("/cgi-bin/get_jsapi_ticket", guarded(state, "get_jsapi_ticket", jsapi_ticket)),
        web.get("/cgi-bin/ticket/get", guarded(state, "ticket/get", agent_ticket)),
        web.post("/cgi-bin/media/upload", guarded(state, "media/upload", media_upload)),
        web.get("/cgi-bin/media/get", guarded(state, "media/get", media_get)),
    ]


def media_response(media: Media, request: web.Request | None = None) -> web.Response:
    """The stored bytes as WeCom's media/get would serve them; a `Range: bytes=a-b` gets 206 and those bytes
    (the phone's <video> seeks in a video message that way, and media/get serves big files in ranges)."""
    headers = {
        "Content-Disposition": f'attachment; filename="{re.sub(r"[^A-Za-z0-9._-]", "_", media.filename)}"',
        "Accept-Ranges": "bytes",
    }
    content_type = media.content_type.split(";")[0]
    if request is None or "Range" not in request.headers:
        return web.Response(body=media.data, content_type=content_type, headers=headers)
    size = len(media.data)
    try:
        wanted = request.http_range
        start, stop, _ = wanted.indices(size)
    except ValueError:
        start, stop = size, size
    if start >= stop:
        raise web.HTTPRequestRangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})
    headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    return web.Response(status=206, body=media.data[start:stop], content_type=content_type, headers=headers)
