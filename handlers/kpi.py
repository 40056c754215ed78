"""KPI / 指标 in chat: today's and yesterday's figures of the user's scope now, the trend chart right after."""
from __future__ import annotations

from datetime import timedelta

from bot.context import Context, Reply
from bot.kpi.push import local_day_bounds
from bot.kpi.scopes import figures_for, scope_of_user
from bot.kpi.service import kpi_settings
from bot.models.kpi import KpiChartRequest
from bot.router import Router

router = Router("kpi")


@router.command("KPI", "指标", "OEE", roles={"team_lead", "manager", "pm"})
async def show_kpis(ctx: Context) -> Reply:
    """Text now (passive reply); the chart is rendered and uploaded by the kpi_charts job, then sent."""
    scope = await scope_of_user(ctx.session, ctx.user)
    if scope is None:
        return ctx.reply("kpi/no_scope.txt.j2", admin_contact=ctx.settings.plant.admin_contact)
    settings = ctx.settings
    today = ctx.now.astimezone(settings.tz).date()
    start, _ = local_day_bounds(today, settings)
    day_before, _ = local_day_bounds(today - timedelta(days=1), settings)
    now_records = await figures_for(ctx.session, settings, scope, start, max(ctx.now, start + timedelta(seconds=1)),
                                    ctx.now)
    before = await figures_for(ctx.session, settings, scope, day_before, start, ctx.now)
    if not now_records or not before:
        return ctx.reply("kpi/no_data.txt.j2", scope=scope)
    ctx.session.add(KpiChartRequest(user_id=ctx.user.id, wecom_userid=ctx.user.wecom_userid, scope=scope.kind,
                                    code=scope.code, requested_at=ctx.now))
    target = kpi_settings(settings).target_for("oee", scope.kind, scope.code)
    return ctx.reply("kpi/summary.txt.j2", scope=scope, today=now_records[0], yesterday=before[0],
                     target={"oee": target.value} if target else {}, chart=True)
