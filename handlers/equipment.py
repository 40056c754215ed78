"""Andon in chat: 接单 and 已修复 on the downtime card (or `接单/已修复 [设备]` by text), the downtime reason (by
number or on the card), 刷新 to catch a card up, 设备状态, the machine label (扫设备二维码: the machine, and what
this member may do there) and 报修 (call maintenance by hand).

After a machine label, `接单`, `已修复` and `报修` need no machine code: the label is the conversation's machine.

Taps get no passive reply: the tapped card is replaced as a whole through the tap's response code (a passive
update_button arriving after that replacement would grey out its new buttons).
"""
from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select

from bot import text_input
from bot.context import Context, Reply
from bot.equipment import andon, manual
from bot.equipment.cards import Notifier
from bot.equipment.settings import EquipmentSettings
from bot.equipment.status import machine_status, machine_view, state_names
from bot.models import Machine
from bot.parsing import NumberRefused, id_after
from bot.people import may
from bot.reports.errors import ReportRefused
from bot.reports.results import OperationView
from bot.router import Router
from handlers import issues as issue_handlers
from handlers import reports as reporting

router = Router("equipment")
REASON_STATE = "equipment.reason"
MACHINE_STATE = "equipment.machine"  # a machine label was scanned: {"machine": code}
MACHINE_STATE_S = 600
ANDON_ROLES = {"maintenance", "team_lead", "manager"}


@lru_cache(maxsize=4)
def button_labels(content_dir: Path) -> dict[str, str]:
    return tomllib.loads((content_dir / "templates" / "equipment" / "buttons.toml").read_text(encoding="utf-8"))


def settings_of(ctx: Context) -> EquipmentSettings:
    return ctx.settings.feature("equipment")


def _alert_id(ctx: Context, prefix: str) -> int:
    return id_after(ctx.inbound.event_key, prefix, "报警编号")


def _stale_button(ctx: Context, exc: NumberRefused) -> Reply:
    """A key no card of ours carries (forged, or from a broken client): say why, grey the button out."""
    ctx.send("text", {"content": exc.message(ctx.services.templates)})
    return Reply(replace_button=button_labels(ctx.services.templates.content_dir)["failed"])


async def _follow(ctx: Context, view: andon.AlertView) -> None:
    await Notifier(ctx.services.templates, settings_of(ctx)).refresh(ctx.session, view, now=ctx.now)


async def _refused(ctx: Context, exc: andon.AndonRefused, *, tap: bool = True) -> Reply | None:
    """Say why; the tapper's card catches up with the alert's real state (their tap's code pays for it)."""
    text = ctx.render("equipment/refused.txt.j2", code=exc.code, by=exc.by, v=None)
    if not tap:
        return Reply(text=text)
    ctx.send("text", {"content": text})
    if exc.alert is None:
        return Reply(replace_button=button_labels(ctx.services.templates.content_dir)["failed"])
    await _follow(ctx, await andon.view_of(ctx.session, exc.alert))
    return None


@router.button("eq:ack:", roles=ANDON_ROLES)
async def acknowledge(ctx: Context) -> Reply | None:
    try:
        view = await andon.acknowledge(ctx.session, _alert_id(ctx, "eq:ack:"), ctx.user, ctx.now)
    except NumberRefused as exc:
        return _stale_button(ctx, exc)
    except andon.AndonRefused as exc:
        return await _refused(ctx, exc)
    await _follow(ctx, view)
    ctx.send("text", {"content": ctx.render("equipment/acknowledged.txt.j2", v=view)})
    return None


def notifier(ctx: Context) -> Notifier:
    return Notifier(ctx.services.templates, settings_of(ctx))


def _named_machine(ctx: Context) -> str | None:
    """The machine a command means: the one typed after it, else the label scanned in this conversation."""
    typed = text_input.to_ascii(ctx.args).strip().upper()
    if typed:
        return typed
    machine = ctx.state.data.get("machine") if ctx.state is not None else None
    return str(machine) if machine else None


async def _fix(ctx: Context, alert_id: int) -> str:
    """Records the repair and asks for the reason; returns the question."""
    view = await andon.fix(ctx.session, alert_id, ctx.user, ctx.now)
    await manual.end_manual_downtime(ctx.session, view.alert, ctx.now)
    await _follow(ctx, view)
    await ctx.set_state(REASON_STATE, {"alert_id": view.alert.id}, ttl_s=3600)
    settings = settings_of(ctx)
    return ctx.render("equipment/reasons.txt.j2", v=view, reasons=settings.reasons,
                      on_card=len(settings.reasons) <= 10)


@router.button("eq:fix:", roles=ANDON_ROLES)
async def fixed(ctx: Context) -> Reply | None:
    try:
        question = await _fix(ctx, _alert_id(ctx, "eq:fix:"))
    except NumberRefused as exc:
        return _stale_button(ctx, exc)
    except andon.AndonRefused as exc:
        return await _refused(ctx, exc)
    ctx.send("text", {"content": question})
    return None


@router.command("已修复", roles=ANDON_ROLES)
async def fixed_by_text(ctx: Context) -> Reply | None:
    """`已修复 L1-M1`, or just `已修复` for the scanned machine or the one alert this user took."""
    try:
        return Reply(text=await _fix(ctx, await andon.alert_to_fix(ctx.session, ctx.user, _named_machine(ctx))))
    except andon.AndonRefused as exc:
        return await _refused(ctx, exc, tap=False)


@router.command("接单", roles=ANDON_ROLES)
async def take_by_text(ctx: Context) -> Reply | None:
    """`接单 L1-M1`, or `接单` after scanning the machine's label: the card's 接单, typed."""
    code = _named_machine(ctx)
    if code is None:
        return ctx.reply("equipment/usage.txt.j2", command="接单")
    try:
        view = await andon.acknowledge(ctx.session, await manual.alert_to_take(ctx.session, code), ctx.user, ctx.now)
    except andon.AndonRefused as exc:
        return await _refused(ctx, exc, tap=False)
    await _follow(ctx, view)
    return ctx.reply("equipment/acknowledged.txt.j2", v=view)


@router.command("报修")
async def call_maintenance(ctx: Context) -> Reply | None:
    """Anyone may call maintenance to a machine: the alert a stop would raise, unless one is active already."""
    code = _named_machine(ctx)
    if code is None:
        return ctx.reply("equipment/usage.txt.j2", command="报修")
    try:
        view, raised = await manual.raise_manual(ctx.session, notifier(ctx), code, ctx.user, ctx.now)
    except andon.AndonRefused as exc:
        return await _refused(ctx, exc, tap=False)
    rows = await machine_status(ctx.session, None, [view.machine_code])
    return ctx.reply("equipment/called.txt.j2", v=view, raised=raised, taker=rows[0].alert_taker if rows else "",
                     names=state_names(ctx.services.templates.content_dir))


@router.command("报告问题")
async def report_problem(ctx: Context) -> Reply:
    """A problem of the scanned (or named) machine for the issue list; the next text describes it."""
    code = _named_machine(ctx)
    if code is None:
        return ctx.reply("equipment/usage.txt.j2", command="报告问题")
    machine_id = await ctx.session.scalar(select(Machine.id).where(Machine.code == code))
    if machine_id is None:
        return ctx.reply("equipment/refused.txt.j2", code="unknown_machine", by=code, v=None)
    return Reply(text=await issue_handlers.start_for_machine(ctx, machine_id))


@router.scan("machine")
async def machine_label(ctx: Context) -> Reply:
    """The machine, its alert and today's figures, with what this member may do: report on its current
    operation (the reporting conversation starts at once, so `48` works), take or fix its alert, call 报修."""
    assert ctx.qr is not None
    code = ctx.qr.ids[0]
    view = await machine_view(ctx.session, ctx.settings, code, ctx.now)
    if view is None:
        await ctx.clear_state()
        return ctx.reply("equipment/refused.txt.j2", code="unknown_machine", by=code, v=None)
    operation, refusal = await _reportable(ctx, code)
    if operation is not None:
        await reporting.begin_report(ctx, operation, machine=code)
    else:
        await ctx.set_state(MACHINE_STATE, {"machine": code}, ttl_s=MACHINE_STATE_S)
    status = view.status
    andon_role = may(ctx.user, ANDON_ROLES)
    return ctx.reply("equipment/machine.txt.j2", m=view, names=state_names(ctx.services.templates.content_dir),
                     op=operation, refusal=refusal,
                     form_url=reporting.form_url(ctx, operation) if operation is not None else "",
                     can_take=andon_role and status.alert_status == "open",
                     can_fix=andon_role and status.alert_status in ("open", "acknowledged"),
                     issues=True)


async def _reportable(ctx: Context, code: str) -> tuple[OperationView | None, str]:
    """The machine's current operation if this member may report on it; else why not (for reporters only)."""
    if not may(ctx.user, reporting.settings_of(ctx).reporting_roles):
        return None, ""
    try:
        return await reporting.service(ctx).reportable(ctx.user, "machine", (code,)), ""
    except ReportRefused as exc:
        return None, exc.message_zh


async def _save_reason(ctx: Context, alert_id: int, code: str) -> andon.AlertView:
    view = await andon.set_reason(ctx.session, alert_id, code, ctx.now)
    if ctx.state is not None and ctx.state.name == REASON_STATE and ctx.state.data.get("alert_id") == alert_id:
        await ctx.clear_state()
    await _follow(ctx, view)
    return view


@router.text(r"([0-9０-９]{1,2})", state=REASON_STATE)
async def reason(ctx: Context) -> Reply | None:
    reasons = settings_of(ctx).reasons
    number = int(text_input.to_ascii(ctx.regex.group(1)))
    if not 1 <= number <= len(reasons):
        return ctx.reply("equipment/reason_unknown.txt.j2", count=len(reasons))
    chosen = reasons[number - 1]
    try:
        view = await _save_reason(ctx, int(ctx.state.data["alert_id"]), chosen.code)  # type: ignore[union-attr]
    except andon.AndonRefused as exc:
        await ctx.clear_state()
        return await _refused(ctx, exc, tap=False)
    return ctx.reply("equipment/reason_saved.txt.j2", v=view, reason=chosen.name)


@router.button("eq:reason:", roles=ANDON_ROLES)
async def reason_on_card(ctx: Context) -> Reply | None:
    """The reason picked in the card's selection and submitted (anyone on the alert may give it)."""
    settings = settings_of(ctx)
    picked = (ctx.inbound.selected.get("reason") or [""])[0]
    try:
        alert = await andon.get_alert(ctx.session, _alert_id(ctx, "eq:reason:"))
        if alert.reason_at is not None or picked not in {r.code for r in settings.reasons}:
            # given already (typed in chat while this card could not follow): the card catches up, nothing changes
            await _follow(ctx, await andon.view_of(ctx.session, alert))
            ctx.send("text", {"content": ctx.render("equipment/reason_unknown.txt.j2", count=len(settings.reasons))
                              if alert.reason_at is None else ctx.render(
                                  "equipment/reason_saved.txt.j2", v=await andon.view_of(ctx.session, alert),
                                  reason=settings.reason_name(alert.reason_code))})
            return None
        view = await _save_reason(ctx, alert.id, picked)
    except NumberRefused as exc:
        return _stale_button(ctx, exc)
    except andon.AndonRefused as exc:
        return await _refused(ctx, exc)
    ctx.send("text", {"content": ctx.render("equipment/reason_saved.txt.j2", v=view,
                                            reason=settings.reason_name(picked))})
    return None


@router.button("eq:view:")
async def refresh_card(ctx: Context) -> Reply | None:
    """刷新: a card that missed changes (no code was left for it) shows the alert as it is now."""
    try:
        alert = await andon.get_alert(ctx.session, _alert_id(ctx, "eq:view:"))
    except NumberRefused as exc:
        return _stale_button(ctx, exc)
    except andon.AndonRefused as exc:
        return await _refused(ctx, exc)
    await _follow(ctx, await andon.view_of(ctx.session, alert))
    return None


@router.command("设备状态")
async def status(ctx: Context) -> Reply:
    line = ctx.args.strip().upper()
    codes = [m.code for m in settings_of(ctx).machines] or None
    rows = await machine_status(ctx.session, line or None, codes)
    return ctx.reply("equipment/status.txt.j2", rows=rows, line=line,
                     names=state_names(ctx.services.templates.content_dir))
