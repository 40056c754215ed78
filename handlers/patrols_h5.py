"""每日巡检 as mobile pages: the round page (from the card), a checkpoint's form (opened by WeCom's scanner, which
proves presence, or from the round page, which marks it 未扫码), photos uploaded with the form (the JS-SDK
chooseImage/uploadImage path sends a media id instead), and the stored photos served back."""
from __future__ import annotations

import hashlib
import secrets

from aiohttp import BodyPartReader, web

from bot.parsing import NumberRefused, parse_id
from bot.patrols.errors import PatrolRefused
from bot.patrols.photos import check_image
from bot.patrols.service import judge
from bot.patrols.views import CheckpointView
from bot.people import may
from bot.router import Router
from bot.web.h5 import H5Context
from bot.web.h5_tokens import TokenRefused
from handlers.patrols_support import follow, service_for
from integrations.wecom.client import MediaTooLarge
from integrations.wecom.errors import WeComError

router = Router("patrols_h5")
ROUND, FORM = "patrols/round.html.j2", "patrols/checkpoint.html.j2"
MAX_FIELDS = 64


def error_page(ctx: H5Context, message: str, status: int = 400) -> web.Response:
    return ctx.page("core/h5_error.html.j2", status=status, title="巡检", message=message)


def purpose(round_id: int, checkpoint: str) -> str:
    return f"patrol:{round_id}:{checkpoint}"


async def form_page(ctx: H5Context, view: CheckpointView, *, token: str = "", error: str = "",
                    values: dict[str, str] | None = None, status: int = 200) -> web.Response:
    script = jssdk_url(ctx)
    return ctx.page(FORM, status=status, c=view, token=token, key=ctx.form_key(purpose(view.round.id,
                    view.checkpoint.code)), error=error, values=values or {}, jssdk=script,
                    wx=await wx_config(ctx) if script else None)


def jssdk_url(ctx: H5Context) -> str:
    """WeCom's JS-SDK as configured; in the demo the sandbox's emulation; else none (the file input works)."""
    configured = ctx.services.settings.feature("patrols").jssdk_url
    if configured:
        return configured
    return f"{ctx.services.sandbox_url.rstrip('/')}/phone/static/jssdk.js" if ctx.services.sandbox_url else ""


async def wx_config(ctx: H5Context) -> dict[str, object] | None:
    """wx.config's signature for this page (WeCom's rule: sha1 of ticket, nonce, timestamp and URL). The ticket
    is the one the escalation job keeps warm; without it the page works with its file input."""
    client = ctx.services.client
    ticket = client.cached_jsapi_ticket() if client is not None else None
    if ticket is None:
        return None
    nonce, timestamp = secrets.token_hex(8), int(ctx.now.timestamp())
    url = f"{ctx.services.settings.server.base_url}{ctx.request.path_qs}"
    signature = hashlib.sha1(f"jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url}".encode())
    return {"beta": True, "appId": ctx.services.settings.wecom.corp_id, "timestamp": timestamp, "nonceStr": nonce,
            "signature": signature.hexdigest(), "jsApiList": ["chooseImage", "uploadImage", "scanQRCode"]}


@router.scan_page("patrol")
async def scanned(ctx: H5Context) -> web.StreamResponse:
    """WeCom's scanner opened a checkpoint label: presence recorded, the checkpoint's form shown."""
    assert ctx.qr is not None
    patrols = service_for(ctx.services, ctx.session, ctx.now)
    try:
        view = await patrols.scan(ctx.user, ctx.qr.ids[0])
    except PatrolRefused as exc:
        return error_page(ctx, exc.message_zh, 409 if exc.reason == "closed" else 404)
    await follow(ctx.services, ctx.session, view, ctx.user, ctx.now, checkpoint_card=False)
    return await form_page(ctx, view, token=ctx.request.match_info["token"])


@router.h5("GET", "/h5/patrols/round/{round}")
async def round_page(ctx: H5Context) -> web.StreamResponse:
    patrols = service_for(ctx.services, ctx.session, ctx.now)
    try:
        view = await patrols.round_view(parse_id(ctx.request.match_info["round"], "巡检编号"))
    except NumberRefused as exc:
        return error_page(ctx, exc.message(ctx.services.templates))
    except PatrolRefused as exc:
        return error_page(ctx, exc.message_zh, 404)
    script = jssdk_url(ctx)
    return ctx.page(ROUND, v=view, jssdk=script, wx=await wx_config(ctx) if script else None)


@router.h5("GET", "/h5/patrols/round/{round}/{checkpoint}")
async def checkpoint_page(ctx: H5Context) -> web.StreamResponse:
    """A checkpoint answered from the round page, without its scan (recorded as 未扫码)."""
    patrols = service_for(ctx.services, ctx.session, ctx.now)
    try:
        view = await patrols.checkpoint_view(parse_id(ctx.request.match_info["round"], "巡检编号"),
                                             ctx.request.match_info["checkpoint"])
    except NumberRefused as exc:
        return error_page(ctx, exc.message(ctx.services.templates))
    except PatrolRefused as exc:
        return error_page(ctx, exc.message_zh, 404)
    return await form_page(ctx, view)


async def _read_form(ctx: H5Context, limit: int) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """Fields and photo files, streamed: a file over the limit is refused without being kept in full."""
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    if not ctx.request.content_type.startswith("multipart/"):
        data = await ctx.request.post()
        return {k: str(v) for k, v in data.items() if isinstance(v, str)}, files
    reader = await ctx.request.multipart()
    count = 0
    async for part in reader:
        count += 1
        if count > MAX_FIELDS or not isinstance(part, BodyPartReader) or not part.name:
            raise PatrolRefused("unknown_item")
        if part.filename is None:
            fields[part.name] = (await part.read(decode=True)).decode("utf-8", "replace")[:2000]
            continue
        data = bytearray()
        while chunk := await part.read_chunk():
            data += chunk
            if len(data) > limit:
                raise PatrolRefused("too_big", limit_mb=limit // (1024 * 1024))
        if data:
            files[part.name] = (part.headers.get("Content-Type", "application/octet-stream"), bytes(data))
    return fields, files


@router.h5("POST", "/h5/patrols/answer")
async def submit(ctx: H5Context) -> web.StreamResponse:
    """Every item of one checkpoint at once: checked in full first, so a refusal records nothing."""
    patrols = service_for(ctx.services, ctx.session, ctx.now)
    limit = patrols.feature.max_photo_bytes
    try:
        fields, files = await _read_form(ctx, limit)
        round_id = parse_id(fields.get("round", ""), "巡检编号")
        checkpoint = fields.get("checkpoint", "")
        ctx.check_form_key(fields.get("key", ""), purpose(round_id, checkpoint))
        view = await patrols.checkpoint_view(round_id, checkpoint)
    except NumberRefused as exc:
        return error_page(ctx, exc.message(ctx.services.templates))
    except TokenRefused:
        return error_page(ctx, "表单无效或已过期，答案未记录，请重新扫码。", 403)
    except PatrolRefused as exc:
        return error_page(ctx, exc.message_zh, 413 if exc.reason == "too_big" else 422)
    values = {s.item.code: fields.get(f"v_{s.item.code}", "").strip() for s in view.items}
    try:
        patrols.check_assignee(ctx.user, view.round)
        patrols.check_open(view.round)
        if fields.get("token"):
            assert ctx.services.qr is not None
            patrols.check_qr_matches(view.round, ctx.services.qr.verify(fields["token"], now=ctx.now).ids[0])
        photos = await _photos(ctx, view, files, fields, limit)
        todo = _checked(view, values, photos)
        for code, (ctype, data, media_id) in photos.items():
            photo_id = await patrols.store_photo(ctx.user, round_id, checkpoint, code, ctype, data, media_id)
            if code in todo:
                todo[code] = (todo[code][0], photo_id)
        for code, (value, photo_id) in todo.items():
            view, _ = await patrols.answer(ctx.user, round_id, checkpoint, code, value, photo_id)
    except PatrolRefused as exc:  # every check ran before the first write, so nothing was recorded
        return error_page(ctx, exc.message_zh, 413 if exc.reason == "too_big" else 409 if exc.reason in (
            "closed", "other_round") else 422)
    except Exception as exc:
        from bot.qr import QrError

        if isinstance(exc, QrError):
            return error_page(ctx, exc.message_zh, 403)
        raise
    await follow(ctx.services, ctx.session, view, ctx.user, ctx.now, checkpoint_card=False)
    return ctx.page(ROUND, v=await patrols.round_view(round_id), saved=view.checkpoint.name)


async def _photos(ctx: H5Context, view: CheckpointView, files: dict[str, tuple[str, bytes]],
                  fields: dict[str, str], limit: int) -> dict[str, tuple[str, bytes, str | None]]:
    """Photos per item: a file from the form, or a JS-SDK uploadImage media id fetched from WeCom now."""
    out: dict[str, tuple[str, bytes, str | None]] = {}
    for state in view.items:
        code = state.item.code
        if f"p_{code}" in files:
            ctype, data = files[f"p_{code}"]
            out[code] = (check_image(ctype, data, limit), data, None)
        elif media_id := fields.get(f"m_{code}", "").strip():
            if ctx.services.client is None:
                raise PatrolRefused("media_failed")
            try:
                data, ctype = await ctx.services.client.download_media(media_id, max_bytes=limit)
            except MediaTooLarge:
                raise PatrolRefused("too_big", limit_mb=limit // (1024 * 1024)) from None
            except WeComError:
                raise PatrolRefused("media_failed") from None
            out[code] = (check_image(ctype, data, limit), data, media_id)
    return out


def _checked(view: CheckpointView, values: dict[str, str], photos: dict[str, object]) -> dict[str, tuple[str, None]]:
    """The answers to record, each judged before anything is written; already answered items are kept."""
    todo: dict[str, tuple[str, None]] = {}
    for state in view.items:
        item, value = state.item, values.get(state.item.code, "")
        if state.answer is not None:
            continue
        if item.kind == "photo":
            if state.item.code in photos:
                todo[item.code] = ("照片", None)
            continue
        if not value:
            continue
        _, _, ng = judge(item, value)
        if item.photo_needed(ng) and item.code not in photos:
            raise PatrolRefused("photo_needed", item=item.name)
        todo[item.code] = (value, None)
    return todo


@router.h5("GET", "/h5/patrols/photo/{photo}")
async def photo(ctx: H5Context) -> web.StreamResponse:
    from bot.models.patrols import PatrolPhoto

    if not may(ctx.user, None):
        return error_page(ctx, "无权查看。", 403)
    try:
        row = await ctx.session.get(PatrolPhoto, parse_id(ctx.request.match_info["photo"], "照片编号"))
    except NumberRefused as exc:
        return error_page(ctx, exc.message(ctx.services.templates))
    if row is None:
        return error_page(ctx, "照片不存在。", 404)
    return web.Response(body=row.data, content_type=row.content_type,
                        headers={"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"})
