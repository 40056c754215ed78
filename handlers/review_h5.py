"""The review page `/h5/review/2026-11[?line=L1]` (WeCom OAuth): the whole month for a screen or a phone, and
its chart images `/h5/review/2026-11/trend.png[?line=L1]`, behind the same permission as the page."""
from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from aiohttp import web

from bot.review.access import PAGE, VIEWER_ROLES, Asked, resolve
from bot.review.charts import CHARTS
from bot.review.images import chart_png
from bot.review.service import build_review, parse_month
from bot.router import Router
from bot.web.h5 import H5Context

router = Router("review_h5")
REFUSALS = {"not_yours": ("您只能查看自己产线的月度复盘。", 403), "unknown": ("没有找到这条产线。", 404),
            "no_scope": ("您还没有分配产线，无法查看月度复盘。", 403), "future": ("这个月还没有开始。", 404)}
CHART_PAGE = PAGE + "/{chart}.png"


async def _asked(ctx: H5Context) -> Asked | web.Response:
    # Without ?line= the page is the plant's: the URL names its scope, it never falls back to the viewer's own.
    words = [ctx.request.match_info["month"], ctx.request.query.get("line") or "全厂"]
    if parse_month(ctx.request.match_info["month"]) is None:
        return _refuse(ctx, "链接中的月份不正确，例如 /h5/review/2026-11。", 400)
    asked = await resolve(ctx.session, ctx.services.settings, ctx.user, words, ctx.now)
    if asked.problem is not None:
        return _refuse(ctx, *REFUSALS[asked.problem])
    return asked


@router.h5("GET", PAGE, roles=VIEWER_ROLES)
async def review_page(ctx: H5Context) -> web.StreamResponse:
    asked = await _asked(ctx)
    if isinstance(asked, web.Response):
        return asked
    assert asked.month is not None and asked.scope is not None
    review = await build_review(ctx.session, ctx.services.settings, asked.scope, asked.month, ctx.now)
    query = f"?{urlencode({'line': asked.scope.code})}" if asked.scope.kind == "line" else ""
    base = PAGE.format(month=review.label)
    charts = {name: f"{base}/{name}.png{query}" for name in CHARTS}
    return ctx.page("review/page.html.j2", r=review, plant=ctx.services.settings.plant.name, charts=charts)


@router.h5("GET", CHART_PAGE, roles=VIEWER_ROLES)
async def review_chart(ctx: H5Context) -> web.StreamResponse:
    name = ctx.request.match_info["chart"]
    if name not in CHARTS:
        return _refuse(ctx, "没有这张图。", 404)
    asked = await _asked(ctx)
    if isinstance(asked, web.Response):
        return asked
    assert asked.month is not None and asked.scope is not None
    work = await chart_png(ctx.session, ctx.services.settings, asked.scope, asked.month, ctx.now, name)
    png = await asyncio.to_thread(work)
    return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "private, max-age=300"})


def _refuse(ctx: H5Context, message: str, status: int) -> web.Response:
    return ctx.page("core/h5_error.html.j2", status=status, title="无法查看月度复盘", message=message)
