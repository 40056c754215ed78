"""The shift card's 查看详情: one line's shift as a page (WeCom OAuth), for whoever may see that line."""
from __future__ import annotations

from datetime import date

from aiohttp import web

from bot.kpi.scopes import may_see, resolve_scope
from bot.kpi.service import kpi_settings
from bot.kpi.shift_view import SHIFT_PAGE, shift_view
from bot.router import Router
from bot.web.h5 import H5Context

router = Router("kpi_h5")
PAGE = "kpi/shift_page.html.j2"


def error_page(ctx: H5Context, message: str, status: int) -> web.Response:
    return ctx.page("core/h5_error.html.j2", status=status, title="无法查看班次指标", message=message)


@router.h5("GET", SHIFT_PAGE, roles={"team_lead", "manager", "pm"})
async def shift_page(ctx: H5Context) -> web.StreamResponse:
    query = ctx.request.query
    calendar = ctx.services.settings.calendar
    shift = next((s for s in calendar.shifts if s.code == query.get("shift", "")), None)
    try:
        day = date.fromisoformat(query.get("day", ""))
    except ValueError:
        day = None
    if shift is None or day is None:
        return error_page(ctx, "链接不完整或已失效，请从班次指标卡片重新打开。", 400)
    scope = await resolve_scope(ctx.session, query.get("line", ""))
    if scope is None or scope.kind != "line":
        return error_page(ctx, "没有找到这条产线，可能已被删除或改名。", 404)
    if not await may_see(ctx.session, ctx.user, scope):
        return error_page(ctx, "您只能查看自己产线的班次指标。", 403)
    slot = calendar.slot(shift, day)
    if ctx.now <= slot.start:
        return error_page(ctx, f"{day:%m-%d} {shift.name}还没有开始，暂无指标。", 404)
    view = await shift_view(ctx.session, ctx.services.settings, scope, slot, ctx.now)
    target = kpi_settings(ctx.services.settings).target_for("oee", scope.kind, scope.code)
    return ctx.page(PAGE, v=view, target={"oee": target.value} if target else {})
