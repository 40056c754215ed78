"""培训 in chat: `培训` (my items and status), `看视频 序号` (the clip as a WeCom video message, when it fits),
`培训情况 [产线]` for team leads, a scanned training QR (a link that counts as a station scan), the trial card's
有用 / 需改进 (+ a comment) and 发布. The player and its heartbeats are H5 pages: handlers/training_h5.py."""
from __future__ import annotations

from sqlalchemy import select

from bot.context import Context, Reply
from bot.models import Line
from bot.parsing import NumberRefused, is_ascii_int, parse_int
from bot.people import holds
from bot.router import Router
from bot.training.catalog import Catalog, load_catalog
from bot.training.figures import matrix, tallies
from bot.training.service import TrainingService
from bot.training.settings import TrainingSettings
from bot.training.trial import Trials
from bot.training.video_message import MB, queue_video, why_not_sendable

router = Router("training")
COMMENT_STATE = "training.comment"  # after 需改进: {"code", "version"}
COMMENT_STATE_S = 900
LEAD_ROLES = {"team_lead", "manager", "pm"}


def settings_of(ctx: Context) -> TrainingSettings:
    return ctx.settings.feature("training")


def catalog_of(ctx: Context) -> Catalog:
    settings = settings_of(ctx)
    return load_catalog(settings.catalog_path, settings.media_path)


def trials(ctx: Context) -> Trials:
    return Trials(ctx.session, settings_of(ctx), catalog_of(ctx), ctx.services.templates,
                  ctx.settings.server.base_url, ctx.now)


@router.command("培训", "学习")
async def my_training(ctx: Context) -> Reply:
    items = await TrainingService(ctx.session, settings_of(ctx), ctx.now, catalog_of(ctx)).my_items(ctx.user)
    sendable = {s.item.code for s in items if why_not_sendable(s.item, settings_of(ctx)) is None}
    return ctx.reply("training/mine.txt.j2", items=items, base=ctx.settings.server.base_url, sendable=sendable)


@router.command("看视频")
async def send_video(ctx: Context) -> Reply:
    """`看视频 2` (the number in my `培训` list) or `看视频 SAFE-01`: the clip in chat; watching still counts only on
    the page, so the reply links it. Too big (over 10 MB) or external: the page only."""
    wanted = ctx.args.strip()
    if not wanted:
        return ctx.reply("training/video_reply.txt.j2", outcome="usage")
    settings = settings_of(ctx)
    items = [s.item for s in await TrainingService(ctx.session, settings, ctx.now, catalog_of(ctx)).my_items(ctx.user)]
    if is_ascii_int(wanted):
        try:
            item = items[parse_int(wanted, low=1, high=max(1, len(items)), what="序号") - 1] if items else None
        except NumberRefused as exc:
            return Reply(text=exc.message(ctx.services.templates))
    else:
        item = next((i for i in items if i.code.lower() == wanted.lower()), None)
    if item is None:
        return ctx.reply("training/video_reply.txt.j2", outcome="unknown")
    url = f"{ctx.settings.server.base_url}/h5/training/{item.code}?from=chat"
    reason = why_not_sendable(item, settings)
    if reason is None:
        queue_video(ctx.session, item, ctx.user.wecom_userid, ctx.services.templates, ctx.now)
    return ctx.reply("training/video_reply.txt.j2", outcome=reason or "sent", item=item, url=url,
                     max_mb=f"{settings.video_message_max_mb:g}", size_mb=f"{item.video_bytes / MB:.1f}")


@router.command("培训情况", roles=LEAD_ROLES)
async def line_status(ctx: Context) -> Reply:
    line_code = ctx.args.strip() or None
    if line_code is None and ctx.user.line_id is not None:
        line_code = await ctx.session.scalar(select(Line.code).where(Line.id == ctx.user.line_id))
    if line_code is not None and not await ctx.session.scalar(select(Line.id).where(Line.code == line_code)):
        return ctx.reply("training/no_line.txt.j2", line=line_code)
    table = await matrix(ctx.session, catalog_of(ctx), settings_of(ctx), line_code)
    catalog = catalog_of(ctx)
    return ctx.reply("training/line_status.txt.j2", line=line_code, members=len(table),
                     items=[(catalog.items[t.key], t) for t in tallies(table, "item")],
                     roles=tallies(table, "role"))


@router.scan("training")
async def scanned(ctx: Context) -> Reply:
    """The bot's own scan menu sends the QR URL here: answer with the page itself, counted as a station scan."""
    assert ctx.qr is not None
    item = catalog_of(ctx).get(ctx.qr.ids[0])
    if item is None:
        return ctx.reply("training/refused.txt.j2", message="没有这个培训内容，请确认二维码。")
    url = ctx.inbound.scan_result or f"{ctx.settings.server.base_url}/h5/training/{item.code}?from=scan"
    return ctx.reply("training/scanned.txt.j2", item=item, url=url)


def _key_parts(key: str | None, prefix: str) -> tuple[str, int] | None:
    """`<prefix><code>:<version>` from a card key; None for a key no card of ours carries."""
    code, _, version = (key or "").removeprefix(prefix).rpartition(":")
    if not code or not version.isascii() or not version.isdigit() or len(version) > 6:
        return None
    return code, int(version)


@router.button("trn:rate:", seed_only=True)
async def rate(ctx: Context) -> Reply | None:
    key = ctx.inbound.event_key or ""
    verdict = key.removeprefix("trn:rate:").partition(":")[0]
    parts = _key_parts(key, f"trn:rate:{verdict}:")
    if parts is None or not await trials(ctx).rate(ctx.user, parts[0], parts[1], verdict):
        return Reply(replace_button="未能处理")
    if verdict == "improve":
        await ctx.set_state(COMMENT_STATE, {"code": parts[0], "version": parts[1]}, COMMENT_STATE_S)
        ctx.send("text", {"content": ctx.render("training/ask_comment.txt.j2")})
    return None


@router.text(r"(?s)(.{1,500})", state=COMMENT_STATE)
async def comment(ctx: Context) -> Reply:
    data = ctx.state.data if ctx.state is not None else {}
    await ctx.clear_state()
    code, version = str(data.get("code", "")), data.get("version")
    if not isinstance(version, int) or not await trials(ctx).rate(ctx.user, code, version, "improve",
                                                                   ctx.inbound.content or ""):
        return ctx.reply("training/refused.txt.j2", message="该培训版本已更新，意见未记录。")
    return ctx.reply("training/comment_saved.txt.j2")


@router.button("trn:release:")
async def release_button(ctx: Context) -> Reply | None:
    if not holds(ctx.user, "admin", *settings_of(ctx).promoter_roles):
        return Reply(replace_button="无权发布")
    parts = _key_parts(ctx.inbound.event_key, "trn:release:")
    catalog = catalog_of(ctx)
    if parts is None or (item := catalog.get(parts[0])) is None or item.version != parts[1]:
        return Reply(replace_button="未能处理")
    await trials(ctx).release(item.code, ctx.user)
    from bot.training.assignment import Assignments

    await Assignments(ctx.session, settings_of(ctx), catalog, ctx.services.templates,
                      ctx.settings.server.base_url, ctx.now).assign()
    return None


@router.button("trn:view:")
async def view_button(ctx: Context) -> Reply | None:
    """刷新: the tap brings a fresh code, and the card catches up with the version's state."""
    parts = _key_parts(ctx.inbound.event_key, "trn:view:")
    item = catalog_of(ctx).get(parts[0]) if parts else None
    if item is None:
        return Reply(replace_button="未能处理")
    await trials(ctx).follow(item, ctx.user)
    return None
