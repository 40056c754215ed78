"""KPI / 指标 in chat: today's and yesterday's figures of a scope now, the trend chart right after.

`指标` alone answers for the user's own scope; `指标 L1` / `指标 L1-M1` / `指标 一号线` for the line or machine
named, if the user may see it."""
from __future__ import annotations

from datetime import timedelta

from bot.context import Context, Reply
from bot.kpi.charts import queue_chart
from bot.kpi.scopes import Scope, figures_for, machine_count, may_see, resolve_scope, scope_of_user, visible_lines
from bot.kpi.service import kpi_settings
from bot.kpi.shift_view import shift_url
from bot.router import Router

router = Router("kpi")
ROLES = {"team_lead", "manager", "pm"}


@router.command("KPI", "指标", "OEE", roles=ROLES)
async def show_kpis(ctx: Context) -> Reply:
    """Text now (passive reply); the chart follows through the outbox, rendered and uploaded by the sender."""
    return await answer(ctx, ctx.args.strip())


@router.text(r"(?i)(?:指标|KPI|OEE)[\s:：]*(?P<target>\S+)", roles=ROLES)
async def show_kpis_glued(ctx: Context) -> Reply:
    """`指标L1` typed without a space (phones often drop it) means `指标 L1`."""
    return await answer(ctx, ctx.regex.group("target"))


async def answer(ctx: Context, wanted: str) -> Reply:
    if not wanted:
        scope = await scope_of_user(ctx.session, ctx.user)
        if scope is None:
            return ctx.reply("kpi/no_scope.txt.j2", admin_contact=ctx.settings.plant.admin_contact)
    else:
        found = await resolve_scope(ctx.session, wanted) or await resolve_scope(ctx.session, wanted.split()[0])
        if found is None:
            return ctx.reply("kpi/unknown_scope.txt.j2", wanted=wanted,
                             lines=await visible_lines(ctx.session, ctx.user))
        if not await may_see(ctx.session, ctx.user, found):
            return ctx.reply("kpi/not_yours.txt.j2", scope=found, own=await scope_of_user(ctx.session, ctx.user),
                             admin_contact=ctx.settings.plant.admin_contact)
        scope = found
    return await figures_reply(ctx, scope)


async def figures_reply(ctx: Context, scope: Scope) -> Reply:
    settings = ctx.settings
    day_before, start = settings.calendar.day_bounds(settings.calendar.day_of(ctx.now) - timedelta(days=1))
    now_records = await figures_for(ctx.session, settings, scope, start, max(ctx.now, start + timedelta(seconds=1)),
                                    ctx.now)
    before = await figures_for(ctx.session, settings, scope, day_before, start, ctx.now)
    if not now_records or not before:
        return ctx.reply("kpi/no_data.txt.j2", scope=scope)
    queued = await queue_chart(ctx.session, ctx.user.wecom_userid, scope, ctx.now)
    config = kpi_settings(settings)
    target = config.target_for("oee", scope.kind, scope.code)
    line = scope.code if scope.kind == "line" else scope.line
    shift = settings.calendar.shift_at(ctx.now)
    return ctx.reply("kpi/summary.txt.j2", scope=scope, today=now_records[0], yesterday=before[0],
                     target={"oee": target.value} if target else {}, chart="queued" if queued else "recent",
                     chart_days=config.chart_days, shift=shift, machines=await machine_count(ctx.session, scope),
                     shift_link=shift_url(settings.server.base_url, line, shift) if line else None)
