"""复盘 in chat: `复盘 [2026-11] [产线]` answers with the month's headline figures and the link to the full page."""
from __future__ import annotations

from bot.context import Context, Reply
from bot.kpi.scopes import scope_of_user, visible_lines
from bot.review.access import VIEWER_ROLES, resolve, review_url
from bot.review.service import build_review
from bot.router import Router

router = Router("review")


@router.command("复盘", "月度复盘", roles=VIEWER_ROLES)
async def monthly_review(ctx: Context) -> Reply:
    asked = await resolve(ctx.session, ctx.settings, ctx.user, ctx.args.split(), ctx.now)
    if asked.problem is not None:
        return ctx.reply("review/refused.txt.j2", asked=asked, own=await scope_of_user(ctx.session, ctx.user),
                         lines=await visible_lines(ctx.session, ctx.user),
                         admin_contact=ctx.settings.plant.admin_contact)
    assert asked.month is not None and asked.scope is not None
    review = await build_review(ctx.session, ctx.settings, asked.scope, asked.month, ctx.now)
    return ctx.reply("review/summary.txt.j2", r=review,
                     url=review_url(ctx.settings.server.base_url, asked.month, asked.scope))
