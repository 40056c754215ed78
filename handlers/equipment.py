"""Andon in chat: 接单 and 已修复 on the downtime card (the fix asks for a numbered reason), and 设备状态."""
from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from bot.context import Context, Reply
from bot.equipment import andon
from bot.equipment.cards import Notifier
from bot.equipment.settings import EquipmentSettings
from bot.equipment.status import machine_status, state_names
from bot.router import Router

router = Router("equipment")
REASON_STATE = "equipment.reason"
ANDON_ROLES = {"maintenance", "team_lead", "manager"}


@lru_cache(maxsize=4)
def button_labels(content_dir: Path) -> dict[str, str]:
    return tomllib.loads((content_dir / "templates" / "equipment" / "buttons.toml").read_text(encoding="utf-8"))


def settings_of(ctx: Context) -> EquipmentSettings:
    return ctx.settings.feature("equipment")


def _alert_id(ctx: Context) -> int:
    return int((ctx.inbound.event_key or "").rsplit(":", 1)[1])


async def _close_others_cards(ctx: Context, view: andon.AlertView, outcome: str) -> None:
    """The others who got this alert's cards see who took or fixed it, in this transaction (the tapper: passively)."""
    notifier = Notifier(ctx.services.templates, settings_of(ctx))
    await notifier.close_cards(ctx.session, view.alert, outcome=outcome, now=ctx.now,
                               by=ctx.user.name or ctx.user.wecom_userid, tapped_task_id=ctx.inbound.task_id,
                               tapper=ctx.user.wecom_userid)


def _refused(ctx: Context, exc: andon.AndonRefused) -> Reply:
    """Tell the tapper why (by message: a tap can only be answered with a new button label)."""
    labels = button_labels(ctx.services.templates.content_dir)
    ctx.send("text", {"content": ctx.render("equipment/refused.txt.j2", code=exc.code, by=exc.by, v=None)})
    return Reply(replace_button=labels["closed" if exc.code.startswith("already_") else "failed"])


@router.button("eq:ack:", roles=ANDON_ROLES)
async def acknowledge(ctx: Context) -> Reply:
    try:
        view = await andon.acknowledge(ctx.session, _alert_id(ctx), ctx.user, ctx.now)
    except andon.AndonRefused as exc:
        return _refused(ctx, exc)
    await _close_others_cards(ctx, view, "acknowledged")
    ctx.send("text", {"content": ctx.render("equipment/acknowledged.txt.j2", v=view)})
    return Reply(replace_button=button_labels(ctx.services.templates.content_dir)["acknowledged"])


@router.button("eq:fix:", roles=ANDON_ROLES)
async def fixed(ctx: Context) -> Reply:
    try:
        view = await andon.fix(ctx.session, _alert_id(ctx), ctx.user, ctx.now)
    except andon.AndonRefused as exc:
        return _refused(ctx, exc)
    await _close_others_cards(ctx, view, "fixed")
    await ctx.set_state(REASON_STATE, {"alert_id": view.alert.id}, ttl_s=3600)
    ctx.send("text", {"content": ctx.render("equipment/reasons.txt.j2", v=view, reasons=settings_of(ctx).reasons)})
    return Reply(replace_button=button_labels(ctx.services.templates.content_dir)["fixed"])


@router.text(r"(\d{1,2})", state=REASON_STATE)
async def reason(ctx: Context) -> Reply:
    reasons = settings_of(ctx).reasons
    number = int(ctx.regex.group(1))
    if not 1 <= number <= len(reasons):
        return ctx.reply("equipment/reason_unknown.txt.j2", count=len(reasons))
    chosen = reasons[number - 1]
    view = await andon.set_reason(ctx.session, int(ctx.state.data["alert_id"]), chosen.code)  # type: ignore
    await ctx.clear_state()
    return ctx.reply("equipment/reason_saved.txt.j2", v=view, reason=chosen.name)


@router.command("设备状态")
async def status(ctx: Context) -> Reply:
    line = ctx.args.strip().upper()
    codes = [m.code for m in settings_of(ctx).machines] or None
    rows = await machine_status(ctx.session, line or None, codes)
    return ctx.reply("equipment/status.txt.j2", rows=rows, line=line,
                     names=state_names(ctx.services.templates.content_dir))
