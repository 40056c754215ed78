"""The training player (H5, through WeCom OAuth): the page, its video and cover served with HTTP Range (a phone
seeks and resumes with 206 answers), heartbeats that report the position, and the quiz.

The page is gated; what it then fetches a thousand times at shift start is not looked up again: the video and
cover URLs and the heartbeat key are signed for the member (bot/training/signed.py), and those routes (`public`
in the gate: no cookie, no user row) check the signature only. Media are served by item code only: the path comes
from the validated catalog and always lies inside the media folder, so no request names a file."""
from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

from bot.context import Services
from bot.router import Router
from bot.training.beats import record_beat
from bot.training.catalog import Catalog, Item, load_catalog
from bot.training.errors import TrainingRefused
from bot.training.service import TrainingService
from bot.training.settings import TrainingSettings
from bot.training.signed import SignatureRefused, TrainingSigner
from bot.web.h5 import H5Context
from bot.web.h5_tokens import TokenRefused

router = Router("training_h5")
PLAYER = "training/player.html.j2"
POSITION = re.compile(r"\d{1,6}(?:\.\d{1,3})?")
CACHE = "private, max-age=3600"
_signers: dict[str, TrainingSigner] = {}
_paths: dict[tuple[str, str], tuple[Path, Path]] = {}


def settings_of(ctx: H5Context) -> TrainingSettings:
    return ctx.services.settings.feature("training")


def catalog_of(ctx: H5Context) -> Catalog:
    settings = settings_of(ctx)
    paths = _paths.get((settings.catalog, settings.media_dir))
    if paths is None:  # resolved once: the video route asks for every Range request
        paths = _paths[(settings.catalog, settings.media_dir)] = (settings.catalog_path, settings.media_path)
    return load_catalog(*paths)


def signer_of(services: Services) -> TrainingSigner:
    secret = services.settings.server.session_secret
    if secret not in _signers:
        _signers[secret] = TrainingSigner(secret)
    return _signers[secret]


def service(ctx: H5Context) -> TrainingService:
    return TrainingService(ctx.session, settings_of(ctx), ctx.now, catalog_of(ctx))


def refused(ctx: H5Context, exc: TrainingRefused) -> web.Response:
    return ctx.page("core/h5_error.html.j2", status=exc.status, title="无法观看", message=exc.message_zh)


async def _player(ctx: H5Context, code: str, source: str, *, result: dict[str, object] | None = None,
                  status: int = 200) -> web.Response:
    try:
        item, row, view, state = await service(ctx).open(ctx.user, code, source)
    except TrainingRefused as exc:
        return refused(ctx, exc)
    settings, signer = settings_of(ctx), signer_of(ctx.services)

    def media(kind: str) -> str:
        return signer.media_url(kind, item.code, item.version, ctx.user.id, ctx.now, settings.media_url_ttl_s)

    return ctx.page(PLAYER, status=status, item=item, progress=row, view=view, state=state, result=result,
                    heartbeat_s=settings.heartbeat_s, complete_percent=int(settings.complete_percent),
                    quiz_key=ctx.form_key(f"quiz:{code}:{item.version}"),
                    video_url=media("video") if item.video else None, cover_url=media("cover") if item.cover else None,
                    media_expires=signer.expiry(ctx.now, settings.media_url_ttl_s),
                    beat_key=signer.beat_key(view.id, ctx.user.id, item.code, item.version, ctx.now,
                                             settings.beat_key_ttl_s))


@router.scan_page("training")
async def scanned(ctx: H5Context) -> web.StreamResponse:
    """WeCom's own scanner opened a station's training QR: the page, counted as a scan."""
    assert ctx.qr is not None
    return await _player(ctx, ctx.qr.ids[0], "scan")


@router.h5("GET", "/h5/training/{code}")
async def page(ctx: H5Context) -> web.StreamResponse:
    return await _player(ctx, ctx.request.match_info["code"], ctx.request.query.get("from", "page"))


def _media(ctx: H5Context, kind: str) -> web.StreamResponse:
    """The item's video or cover for a URL the page signed: no database, FileResponse answers Range with 206."""
    code = ctx.request.match_info["code"]
    try:
        version, _user = signer_of(ctx.services).check_media(kind, code, dict(ctx.request.query), ctx.now)
    except SignatureRefused as exc:
        raise web.HTTPForbidden(text=f"refused: {exc.reason}") from exc
    catalog = catalog_of(ctx)
    item = catalog.get(code)
    if item is None or item.version != version:  # a newer version was published since the page was opened
        raise web.HTTPNotFound(text="not found")
    path = item.video if kind == "video" else item.cover
    # Resolved and checked at load; the catalog reloads when the media folder changes (a file swapped for a link
    # out of it is refused then). No syscalls here beyond FileResponse's own: a missing file is its 404.
    if path is None or not path.is_relative_to(catalog.root):
        raise web.HTTPNotFound(text="not found")
    return web.FileResponse(path, headers={"Cache-Control": CACHE})


@router.h5("GET", "/h5/training/{code}/video", public=True)
async def video(ctx: H5Context) -> web.StreamResponse:
    return _media(ctx, "video")


@router.h5("GET", "/h5/training/{code}/cover", public=True)
async def cover(ctx: H5Context) -> web.StreamResponse:
    return _media(ctx, "cover")


@router.h5("POST", "/h5/training/beat", public=True)
async def beat(ctx: H5Context) -> web.StreamResponse:
    """{key, position, seek}: the player's position every few seconds, on pause, on seeking and at the end; the
    key (signed for this member's view by the page) stands in for the login."""
    try:
        data = await ctx.request.json()
        position = str(data.get("position", ""))
        key = signer_of(ctx.services).check_beat(str(data.get("key", "")), ctx.now)
    except (ValueError, AttributeError):
        return web.json_response({"error": "bad_input"}, status=400)
    except SignatureRefused as exc:
        return web.json_response({"error": exc.reason}, status=403)
    if not POSITION.fullmatch(position):
        return web.json_response({"error": "bad_input"}, status=400)
    engine = ctx.services.engine
    assert engine is not None
    try:
        result = await record_beat(engine, settings_of(ctx), catalog_of(ctx), key, float(position),
                                   seek=data.get("seek") is True, now=ctx.now)
    except TrainingRefused as exc:
        return web.json_response({"error": exc.reason}, status=exc.status)
    return web.json_response({"percent": result.percent, "completed": result.completed})


@router.h5("POST", "/h5/training/{code}/quiz")
async def quiz(ctx: H5Context) -> web.StreamResponse:
    code = ctx.request.match_info["code"]
    form = await ctx.request.post()
    item: Item | None = catalog_of(ctx).get(code)
    if item is None or item.quiz is None:
        return refused(ctx, TrainingRefused("unknown", 404))
    try:
        ctx.check_form_key(str(form.get("key", "")), f"quiz:{code}:{item.version}")
    except TokenRefused:
        return refused(ctx, TrainingRefused("no_view", 403))
    answers = [_choice(str(form.get(f"q{n}", "")), len(q.options)) for n, q in enumerate(item.quiz.questions)]
    try:
        score, passed, state = await service(ctx).submit_quiz(ctx.user, code, answers)
    except TrainingRefused as exc:
        return refused(ctx, exc)
    return await _player(ctx, code, "page", result={"score": score, "passed": passed, "state": state})


def _choice(text: str, options: int) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and int(text) < options else None
