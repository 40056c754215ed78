"""每日巡检 in chat: the round card's 开始巡检, a checkpoint's QR scan (presence), answers on the checkpoint card
(正常/异常, choices), numbers and text as replies, photos as image messages, 我的巡检 and 巡检情况."""
from __future__ import annotations

from bot import cards
from bot.context import Context, Reply
from bot.parsing import NumberRefused, id_after, parse_int
from bot.patrols.cards import round_url
from bot.patrols.errors import PatrolRefused
from bot.patrols.figures import status_lines
from bot.patrols.views import CheckpointView
from bot.router import Router
from handlers.patrols_support import follow, service_for
from integrations.wecom.client import MediaTooLarge
from integrations.wecom.errors import WeComError

router = Router("patrols")
AT_CHECKPOINT = "patrols.at"  # data: round, checkpoint; the member stands there and answers
STATE_S = 30 * 60
MINE_LIMIT = 10


def refused(exc: PatrolRefused) -> Reply:
    return Reply(text=exc.message_zh)


async def _after_answer(ctx: Context, view: CheckpointView) -> Reply:
    await follow(ctx.services, ctx.session, view, ctx.user, ctx.now)
    if view.done:
        await ctx.clear_state()
        return ctx.reply("patrols/checkpoint_done.txt.j2", c=view, finished=view.round.status == "done")
    await ctx.set_state(AT_CHECKPOINT, {"round": view.round.id, "checkpoint": view.checkpoint.code}, STATE_S)
    return ctx.reply("patrols/next_item.txt.j2", c=view)


@router.scan("patrol")
async def scanned(ctx: Context) -> Reply:
    """A checkpoint's label: presence recorded, its card opened on the next item."""
    assert ctx.qr is not None
    patrols = service_for(ctx.services, ctx.session, ctx.now)
    try:
        view = await patrols.scan(ctx.user, ctx.qr.ids[0])
    except PatrolRefused as exc:
        return refused(exc)
    return await _after_answer(ctx, view)


@router.button("pat:start:")
async def start(ctx: Context) -> Reply:
    await cards.note_tap(ctx.session, ctx.inbound.task_id, ctx.user.wecom_userid, ctx.inbound.response_code, ctx.now)
    try:
        round_id = id_after(ctx.inbound.event_key or "", "pat:start:", "巡检编号")
        view = await service_for(ctx.services, ctx.session, ctx.now).round_view(round_id)
    except NumberRefused as exc:
        return Reply(text=exc.message(ctx.services.templates))
    except PatrolRefused as exc:
        return refused(exc)
    return ctx.reply("patrols/start.txt.j2", v=view, url=round_url(ctx.settings.server.base_url, round_id))


@router.button("pat:view:")
async def view_round(ctx: Context) -> Reply | None:
    await cards.note_tap(ctx.session, ctx.inbound.task_id, ctx.user.wecom_userid, ctx.inbound.response_code, ctx.now)
    try:
        round_id = id_after(ctx.inbound.event_key or "", "pat:view:", "巡检编号")
        patrols = service_for(ctx.services, ctx.session, ctx.now)
        view = await patrols.round_view(round_id)
    except NumberRefused as exc:
        return Reply(text=exc.message(ctx.services.templates))
    except PatrolRefused as exc:
        return refused(exc)
    from bot.patrols.cards import follow_round

    await follow_round(ctx.session, ctx.services.templates, view, ctx.settings.server.base_url, ctx.now)
    return None


def _parts(key: str, prefix: str, count: int) -> list[str] | None:
    parts = key.removeprefix(prefix).split(":")
    return parts if len(parts) == count else None


@router.button("pat:cpview:")
async def view_checkpoint(ctx: Context) -> Reply | None:
    await cards.note_tap(ctx.session, ctx.inbound.task_id, ctx.user.wecom_userid, ctx.inbound.response_code, ctx.now)
    parts = _parts(ctx.inbound.event_key or "", "pat:cpview:", 2)
    try:
        if parts is None:
            raise PatrolRefused("other_round")
        view = await service_for(ctx.services, ctx.session, ctx.now).checkpoint_view(
            parse_int(parts[0], low=1, high=2_147_483_647, what="巡检编号"), parts[1])
    except NumberRefused as exc:
        return Reply(text=exc.message(ctx.services.templates))
    except PatrolRefused as exc:
        return refused(exc)
    await follow(ctx.services, ctx.session, view, ctx.user, ctx.now)
    return None


@router.button("pat:ok:")
@router.button("pat:ng:")
@router.button("pat:ch:")
async def tapped_answer(ctx: Context) -> Reply:
    """正常 / 异常 / a choice on the checkpoint card."""
    await cards.note_tap(ctx.session, ctx.inbound.task_id, ctx.user.wecom_userid, ctx.inbound.response_code, ctx.now)
    key = ctx.inbound.event_key or ""
    prefix = key[:7]
    parts = _parts(key, prefix, 4 if prefix == "pat:ch:" else 3)
    patrols = service_for(ctx.services, ctx.session, ctx.now)
    try:
        if parts is None:
            raise PatrolRefused("unknown_item")
        round_id = parse_int(parts[0], low=1, high=2_147_483_647, what="巡检编号")
        checkpoint, item_code = parts[1], parts[2]
        current = await patrols.checkpoint_view(round_id, checkpoint)
        item = next((s.item for s in current.items if s.item.code == item_code), None)
        if item is None:
            raise PatrolRefused("unknown_item")
        if prefix == "pat:ch:":
            value = item.options[parse_int(parts[3], low=0, high=max(0, len(item.options) - 1), what="选项")]
        else:
            value = "ok" if prefix == "pat:ok:" else "ng"
        view, _ = await patrols.answer(ctx.user, round_id, checkpoint, item_code, value)
    except NumberRefused as exc:
        return Reply(text=exc.message(ctx.services.templates))
    except PatrolRefused as exc:
        if exc.reason == "photo_needed":
            await ctx.set_state(AT_CHECKPOINT, {"round": round_id, "checkpoint": checkpoint, "item": item_code,
                                                "value": value}, STATE_S)
            return ctx.reply("patrols/send_photo.txt.j2", item=item)
        return refused(exc)
    return await _after_answer(ctx, view)


@router.text(r"([+-]?\d{1,9}(?:\.\d{1,6})?)", state=AT_CHECKPOINT)
@router.command("备注", "填写")
async def typed_answer(ctx: Context) -> Reply:
    """A number (while at a checkpoint) or `备注 <text>` for the checkpoint's next item."""
    if ctx.state is None or ctx.state.name != AT_CHECKPOINT:
        return refused(PatrolRefused("no_state"))
    data = ctx.state.data
    typed = ctx.regex.group(1) if ctx.regex is not None else ctx.args
    patrols = service_for(ctx.services, ctx.session, ctx.now)
    try:
        current = await patrols.checkpoint_view(int(data["round"]), str(data["checkpoint"]))
        nxt = current.next_item
        if nxt is None or nxt.item.kind not in ("number", "text"):
            return ctx.reply("patrols/next_item.txt.j2", c=current)
        view, _ = await patrols.answer(ctx.user, current.round.id, current.checkpoint.code, nxt.item.code, typed)
    except PatrolRefused as exc:
        if exc.reason == "photo_needed":
            await ctx.set_state(AT_CHECKPOINT, {**data, "item": nxt.item.code, "value": typed}, STATE_S)
            return ctx.reply("patrols/send_photo.txt.j2", item=nxt.item)
        return refused(exc)
    return await _after_answer(ctx, view)


@router.image(state=AT_CHECKPOINT)
async def photo(ctx: Context) -> Reply:
    """A photo for the item waiting for one (or the next photo item): fetched from WeCom and stored at once."""
    data = ctx.state.data  # type: ignore[union-attr]
    patrols = service_for(ctx.services, ctx.session, ctx.now)
    client, media_id = ctx.services.client, ctx.inbound.media_id
    try:
        current = await patrols.checkpoint_view(int(data["round"]), str(data["checkpoint"]))
        item_code = data.get("item") or (current.next_item.item.code if current.next_item else None)
        if item_code is None:
            return ctx.reply("patrols/checkpoint_done.txt.j2", c=current, finished=current.round.status == "done")
        if client is None or not media_id:
            raise PatrolRefused("media_failed")
        limit = patrols.feature.max_photo_bytes
        try:
            content, content_type = await client.download_media(media_id, max_bytes=limit)
        except MediaTooLarge:
            raise PatrolRefused("too_big", limit_mb=limit // (1024 * 1024)) from None
        except WeComError:
            raise PatrolRefused("media_failed") from None
        photo_id = await patrols.store_photo(ctx.user, current.round.id, current.checkpoint.code, item_code,
                                             content_type, content, media_id)
        item = next(s.item for s in current.items if s.item.code == item_code)
        value = data.get("value") or ("照片" if item.kind == "photo" else None)
        if value is None:
            return ctx.reply("patrols/photo_kept.txt.j2", item=item)
        view, _ = await patrols.answer(ctx.user, current.round.id, current.checkpoint.code, item_code, value,
                                       photo_id)
    except PatrolRefused as exc:
        return refused(exc)
    return await _after_answer(ctx, view)


@router.command("我的巡检")
async def my_rounds(ctx: Context) -> Reply:
    patrols = service_for(ctx.services, ctx.session, ctx.now)
    rows = await patrols.my_open_rounds(ctx.user)
    views = [await patrols.round_view(r.id) for r in rows[:MINE_LIMIT]]
    return ctx.reply("patrols/mine.txt.j2", views=views, more=max(0, len(rows) - MINE_LIMIT),
                     base=ctx.settings.server.base_url)


@router.command("巡检情况", roles={"team_lead", "manager", "pm", "maintenance"})
async def status(ctx: Context) -> Reply:
    lines = await status_lines(ctx.session, ctx.settings, ctx.now, line_code=ctx.args.strip() or None)
    return ctx.reply("patrols/status.txt.j2", s=lines)
