"""复盘 in chat: `复盘 [2026-11] [产线]` answers with the month's headline figures and the link to the full page, and
sends the XLSX and the PDF as files (once a day per member, month and scope: asking again only re-answers).
评选 [2026-11] and the award cards' buttons: a manager confirms the month's winners (bot/review/awards.py)."""
from __future__ import annotations

from bot import cards
from bot.context import Context, Reply
from bot.kpi.scopes import scope_of_user, visible_lines
from bot.models.review import ReviewAward
from bot.parsing import NumberRefused, id_after, parse_id
from bot.review.access import VIEWER_ROLES, resolve, review_url
from bot.review.awards import announce, confirm
from bot.review.cards import follow, send_cards
from bot.review.delivery import queue_files
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
    month, scope, userid = asked.month, asked.scope, ctx.user.wecom_userid
    review = await build_review(ctx.session, ctx.settings, scope, month, ctx.now)
    day = ctx.settings.calendar.day_of(ctx.now)
    files = await queue_files(ctx.session, month, scope, userid, ctx.now,
                              key=lambda part: f"review:chat:{month:%Y-%m}:{scope.key}:{userid}:{day}:{part}")
    return ctx.reply("review/summary.txt.j2", r=review, files=files,
                     url=review_url(ctx.settings.server.base_url, month, scope))


@router.command("评选", "月度之星", roles={"manager"})
async def awards(ctx: Context) -> Reply:
    """The month's award cards to the asking manager (the monthly job sends them to every manager on the 1st)."""
    asked = await resolve(ctx.session, ctx.settings, ctx.user, ctx.args.split()[:1], ctx.now)
    if asked.problem is not None or asked.month is None:
        return ctx.reply("review/refused.txt.j2", asked=asked, own=None, lines=[],
                         admin_contact=ctx.settings.plant.admin_contact)
    sent = await send_cards(ctx.session, ctx.settings, ctx.services.templates, asked.month,
                            [ctx.user.wecom_userid], ctx.now)
    return ctx.reply("review/awards_sent.txt.j2", month=asked.month, sent=sent)


def _ids(key: str | None, prefix: str) -> tuple[int, int]:
    """`rev:win:<award>:<member>` → both ids; anything else is refused like any number from outside."""
    award, _, member = (key or "")[len(prefix):].partition(":") if (key or "").startswith(prefix) else ("", "", "")
    return parse_id(award, "评选编号"), parse_id(member, "成员编号")


@router.button("rev:win:", roles={"manager"})
async def confirm_award(ctx: Context) -> Reply | None:
    """确认 X: the first confirmation wins and is announced; a second tap only brings the cards up to date."""
    await cards.note_tap(ctx.session, ctx.inbound.task_id, ctx.user.wecom_userid, ctx.inbound.response_code, ctx.now)
    try:
        award_id, member_id = _ids(ctx.inbound.event_key, "rev:win:")
    except NumberRefused as exc:
        ctx.send("text", {"content": exc.message(ctx.services.templates)})
        return Reply(replace_button=ctx.render("review/button_failed.txt.j2"))
    done = await confirm(ctx.session, award_id, member_id, ctx.user, ctx.now)
    if done is None:
        return Reply(replace_button=ctx.render("review/button_failed.txt.j2"))
    if done.new:
        await announce(ctx.session, ctx.settings, ctx.services.templates, done.award, ctx.now)
    await follow(ctx.session, ctx.services.templates, done.award, ctx.now)
    return None


@router.button("rev:aw:", roles={"manager"})
async def refresh_award(ctx: Context) -> Reply | None:
    await cards.note_tap(ctx.session, ctx.inbound.task_id, ctx.user.wecom_userid, ctx.inbound.response_code, ctx.now)
    try:
        award = await ctx.session.get(ReviewAward, id_after(ctx.inbound.event_key, "rev:aw:", "评选编号"))
    except NumberRefused as exc:
        ctx.send("text", {"content": exc.message(ctx.services.templates)})
        return Reply(replace_button=ctx.render("review/button_failed.txt.j2"))
    if award is None:
        return Reply(replace_button=ctx.render("review/button_failed.txt.j2"))
    await follow(ctx.session, ctx.services.templates, award, ctx.now)
    return None
