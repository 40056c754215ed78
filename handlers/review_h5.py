"""The review page `/h5/review/2026-11[?line=L1]` (WeCom OAuth): the whole month for a screen or a phone."""
from __future__ import annotations

from aiohttp import web

from bot.review.access import PAGE, VIEWER_ROLES, resolve
from bot.review.service import build_review, parse_month
from bot.router import Router
from bot.web.h5 import H5Context

router = Router("review_h5")
REFUSALS = {"not_yours": ("您只能查看自己产线的月度复盘。", 403), "unknown": ("没有找到这条产线。", 404),
            "no_scope": ("您还没有分配产线，无法查看月度复盘。", 403), "future": ("这个月还没有开始。", 404)}


@router.h5("GET", PAGE, roles=VIEWER_ROLES)
async def review_page(ctx: H5Context) -> web.StreamResponse:
    # Without ?line= the page is the plant's: the URL names its scope, it never falls back to the viewer's own.
    words = [ctx.request.match_info["month"], ctx.request.query.get("line") or "全厂"]
    if parse_month(ctx.request.match_info["month"]) is None:
        return _refuse(ctx, "链接中的月份不正确，例如 /h5/review/2026-11。", 400)
    asked = await resolve(ctx.session, ctx.services.settings, ctx.user, words, ctx.now)
    if asked.problem is not None:
        return _refuse(ctx, *REFUSALS[asked.problem])
    assert asked.month is not None and asked.scope is not None
    review = await build_review(ctx.session, ctx.services.settings, asked.scope, asked.month, ctx.now)
    return ctx.page("review/page.html.j2", r=review, plant=ctx.services.settings.plant.name)


def _refuse(ctx: H5Context, message: str, status: int) -> web.Response:
    return ctx.page("core/h5_error.html.j2", status=status, title="无法查看月度复盘", message=message)
