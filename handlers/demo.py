"""演示: a showcase of every message kind the phone simulator renders; included only by `opsbot demo`."""
from __future__ import annotations

import json
import secrets
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot import outbox
from bot.context import Context, Reply
from bot.models import Line
from bot.router import Router
from bot.web.h5 import H5Context

router = Router("demo")
GROUP_ROBOT_KEY = "opsbot-demo-group"
WHOAMI_PATH = "/h5/demo/me"


def _render_json(ctx: Context, template: str, **data: Any) -> dict[str, Any]:
    return json.loads(ctx.render(template, **data))


@router.command("演示", "demo")
async def showcase(ctx: Context) -> Reply | None:
    """Sends markdown, a textcard, an interactive card and a group-robot message, all through the outbox."""
    task_id = f"demo-{ctx.user.wecom_userid}-{secrets.token_hex(6)}"
    messages = _render_json(ctx, "demo/showcase.json.j2", plant=ctx.settings.plant,
                            today=ctx.services.templates.local(ctx.now, "%Y-%m-%d"), task_id=task_id,
                            whoami_url=f"{ctx.settings.server.base_url}{WHOAMI_PATH}")
    ctx.send("markdown", messages["markdown"])
    ctx.send("textcard", messages["textcard"])
    ctx.send("template_card", messages["card"])
    outbox.enqueue(ctx.session, "markdown", messages["group"], channel="webhook", webhook_key=GROUP_ROBOT_KEY,
                   now=ctx.now)
    return None


def _result_text(ctx: Context) -> str:
    chosen = (ctx.inbound.selected.get("result") or ["pass"])[0]
    return ctx.render("demo/result.txt.j2", result=chosen)


@router.button("demo:confirm")
async def confirm(ctx: Context) -> Reply:
    """A passive update: WeCom greys the card's buttons out and shows the new label."""
    return Reply(replace_button=ctx.render("demo/tapped.txt.j2", result_text=_result_text(ctx)))


@router.button("demo:reject")
async def reject(ctx: Context) -> Reply | None:
    """An active update: the whole card is replaced through message/update_template_card."""
    card = _render_json(ctx, "demo/rejected_card.json.j2", task_id=ctx.inbound.task_id or "",
                        who=ctx.user.name or ctx.user.wecom_userid, result_text=_result_text(ctx))
    outbox.enqueue(ctx.session, "template_card", {"template_card": card}, to=[ctx.user.wecom_userid],
                   channel="card_update", response_code=ctx.inbound.response_code, now=ctx.now)
    return None


@router.button("demo:done")
async def done(ctx: Context) -> None:
    return None


@router.h5("GET", WHOAMI_PATH)
async def whoami(ctx: H5Context) -> web.StreamResponse:
    """Shows who WeCom OAuth says the visitor is: the proof that H5 identity works."""
    line_name = await ctx.session.scalar(select(Line.name).where(Line.id == ctx.user.line_id)) \
        if ctx.user.line_id else None
    return ctx.page("demo/whoami.html.j2", line_name=line_name, plant=ctx.services.settings.plant)
