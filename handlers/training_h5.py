"""The training player (H5, through WeCom OAuth): the page, its video and cover served with HTTP Range (a phone
seeks and resumes with 206 answers), heartbeats that report the position, and the quiz.

Media are served by item code only: the path comes from the validated catalog and always lies inside the media
folder, so no request names a file."""
from __future__ import annotations

import re

from aiohttp import web

from bot.parsing import NumberRefused, parse_id
from bot.router import Router
from bot.training.catalog import Catalog, Item, load_catalog
from bot.training.errors import TrainingRefused
from bot.training.service import TrainingService
from bot.training.settings import TrainingSettings
from bot.web.h5 import H5Context
from bot.web.h5_tokens import TokenRefused

router = Router("training_h5")
PLAYER = "training/player.html.j2"
POSITION = re.compile(r"\d{1,6}(?:\.\d{1,3})?")
CACHE = "private, max-age=3600"


def settings_of(ctx: H5Context) -> TrainingSettings:
    return ctx.services.settings.feature("training")


def catalog_of(ctx: H5Context) -> Catalog:
    settings = settings_of(ctx)
    return load_catalog(settings.catalog_path, settings.media_path)


def service(ctx: H5Context) -> TrainingService:
    return TrainingService(ctx.session, settings_of(ctx), ctx.now, catalog_of(ctx))


def refused(ctx: H5Context, exc: TrainingRefused) -> web.Response:
    return ctx.page("core/h5_error.html.j2", status=exc.status, title="无法观看", message=exc.message_zh)


async def _player(ctx: H5Context, code: str, source: str, *, result: dict[str, object] | None = None,
                  status: int = 200) -> web.Response:
    training = service(ctx)
    try:
        item, row, view = await training.open(ctx.user, code, source)
    except TrainingRefused as exc:
        return refused(ctx, exc)
    [state] = [s for s in await training.my_items(ctx.user) if s.item.code == code] or [None]
    return ctx.page(PLAYER, status=status, item=item, progress=row, view=view, state=state, result=result,
                    heartbeat_s=settings_of(ctx).heartbeat_s, complete_percent=int(settings_of(ctx).complete_percent),
                    quiz_key=ctx.form_key(f"quiz:{code}:{item.version}"))


@router.scan_page("training")
async def scanned(ctx: H5Context) -> web.StreamResponse:
    """WeCom's own scanner opened a station's training QR: the page, counted as a scan."""
    assert ctx.qr is not None
    return await _player(ctx, ctx.qr.ids[0], "scan")


@router.h5("GET", "/h5/training/{code}")
async def page(ctx: H5Context) -> web.StreamResponse:
    return await _player(ctx, ctx.request.match_info["code"], ctx.request.query.get("from", "page"))


async def _media(ctx: H5Context, pick: str) -> web.StreamResponse:
    """The item's video or cover, after the same visibility check as the page; FileResponse answers Range."""
    try:
        item, _ = await service(ctx).item_for(ctx.user, ctx.request.match_info["code"])
    except TrainingRefused as exc:
        return refused(ctx, exc)
    path = item.video if pick == "video" else item.cover
    if path is None or not _inside(catalog_of(ctx), path) or not path.is_file():
        raise web.HTTPNotFound(text="not found")
    return web.FileResponse(path, headers={"Cache-Control": CACHE})


def _inside(catalog: Catalog, path: object) -> bool:
    from pathlib import Path

    return isinstance(path, Path) and path.resolve().is_relative_to(catalog.media_dir.resolve())


@router.h5("GET", "/h5/training/{code}/video")
async def video(ctx: H5Context) -> web.StreamResponse:
    return await _media(ctx, "video")


@router.h5("GET", "/h5/training/{code}/cover")
async def cover(ctx: H5Context) -> web.StreamResponse:
    return await _media(ctx, "cover")


@router.h5("POST", "/h5/training/beat")
async def beat(ctx: H5Context) -> web.StreamResponse:
    """{view, position, seek}: the player's position every few seconds, on pause, on seeking and at the end."""
    try:
        data = await ctx.request.json()
        view_id = parse_id(str(data.get("view", "")), "播放编号")
        position = str(data.get("position", ""))
        if not POSITION.fullmatch(position):
            raise TrainingRefused("bad_input", 400)
        result = await service(ctx).heartbeat(ctx.user, view_id, float(position), seek=data.get("seek") is True)
    except (ValueError, AttributeError, NumberRefused):
        return web.json_response({"error": "bad_input"}, status=400)
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
