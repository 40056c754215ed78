"""The machine label opened with WeCom's own scanner: the machine page, with what this member may do.

The same view as the chat's scan (state, since when, the open alert, today's figures) and the same actions
by role: 报工 opens the report form for the machine's current operation, 接单 / 已修复 (with the reason) for
maintenance, team leads and managers, 报修 for everyone. Each action is a POST with a server-issued form key,
answered by a redirect back to the page, so a reload repeats nothing.
"""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from bot.equipment import andon, manual
from bot.equipment.cards import Notifier
from bot.equipment.settings import EquipmentSettings
from bot.equipment.status import machine_view, state_names
from bot.models import Machine
from bot.people import may
from bot.reports.errors import ReportRefused
from bot.reports.service import ReportService
from bot.router import Router
from bot.web.h5 import H5Context
from bot.web.h5_tokens import TokenRefused

router = Router("equipment_h5")
PAGE = "equipment/machine.html.j2"
ANDON_ROLES = {"maintenance", "team_lead", "manager"}
ACTIONS = ("call", "take", "fix")


def settings_of(ctx: H5Context) -> EquipmentSettings:
    return ctx.services.settings.feature("equipment")


def purpose(code: str) -> str:
    return f"machine:{code}"


async def render(ctx: H5Context, code: str, token: str, *, notice: str = "", status: int = 200) -> web.Response:
    view = await machine_view(ctx.session, ctx.services.settings, code, ctx.now)
    if view is None:
        return ctx.page("core/h5_error.html.j2", status=404, title="设备不存在", message=f"没有编号为 {code} 的设备。")
    reports = ctx.services.settings.feature("reports")
    can_report, refusal = False, ""
    if may(ctx.user, reports.reporting_roles):
        try:
            await ReportService(ctx.session, reports, ctx.services.settings.calendar, ctx.now).reportable(
                ctx.user, "machine", (code,))
            can_report = True
        except ReportRefused as exc:
            refusal = exc.message_zh
    alert = view.status.alert_status
    andon_role = may(ctx.user, ANDON_ROLES)
    return ctx.page(PAGE, status=status, m=view, names=state_names(ctx.services.templates.content_dir),
                    token=token, key=ctx.form_key(purpose(code)), notice=notice, can_report=can_report,
                    refusal=refusal, can_take=andon_role and alert == "open",
                    can_fix=andon_role and alert in ("open", "acknowledged"), reasons=settings_of(ctx).reasons)


@router.scan_page("machine")
async def machine_page(ctx: H5Context) -> web.StreamResponse:
    assert ctx.qr is not None
    return await render(ctx, ctx.qr.ids[0], ctx.request.match_info["token"])


@router.h5("POST", "/h5/machine/{code}")
async def act(ctx: H5Context) -> web.StreamResponse:
    code = ctx.request.match_info["code"]
    data = await ctx.request.post()
    token, action = str(data.get("token", "")), str(data.get("action", ""))
    try:
        ctx.check_form_key(str(data.get("key", "")), purpose(code))
    except TokenRefused:
        return ctx.page("core/h5_error.html.j2", status=403, title="请求无效",
                        message="页面已失效，请重新扫描设备二维码。")
    if action not in ACTIONS or await ctx.session.scalar(select(Machine.id).where(Machine.code == code)) is None:
        return ctx.page("core/h5_error.html.j2", status=400, title="请求无效", message="无法识别的操作。")
    if action in ("take", "fix") and not may(ctx.user, ANDON_ROLES):
        return ctx.page("core/h5_error.html.j2", status=403, title="没有权限", message="您的角色不能处理停机报警。")
    notifier = Notifier(ctx.services.templates, settings_of(ctx))
    try:
        if action == "call":
            view, raised = await manual.raise_manual(ctx.session, notifier, code, ctx.user, ctx.now)
            notice = "已通知维修，请在现场等候。" if raised else "已有报警在处理，无需重复报修。"
        elif action == "take":
            view = await andon.acknowledge(ctx.session, await manual.alert_to_take(ctx.session, code), ctx.user,
                                           ctx.now)
            notice = "已接单，修好后在本页点「已修复」。"
        else:
            view = await andon.fix(ctx.session, await andon.alert_to_fix(ctx.session, ctx.user, code), ctx.user,
                                   ctx.now)
            await manual.end_manual_downtime(ctx.session, view.alert, ctx.now)
            reason = str(data.get("reason", ""))
            if reason in {r.code for r in settings_of(ctx).reasons}:
                view = await andon.set_reason(ctx.session, view.alert.id, reason, ctx.now)
            notice = "已记录修复。" if reason else "已记录修复，请在聊天卡片上选择停机原因。"
        await notifier.refresh(ctx.session, view, now=ctx.now)
    except andon.AndonRefused as exc:
        text = ctx.services.templates.render("equipment/refused.txt.j2", code=exc.code, by=exc.by, v=None)
        return await render(ctx, code, token, notice=text.strip(), status=409)
    return await render(ctx, code, token, notice=notice)
