"""扫码报工 in chat: scan a work-order or machine QR, reply quantities, pick a scrap reason, undo or correct
on the confirmation card, and team leads approve over-reports and late corrections on theirs."""
from __future__ import annotations

import re

from bot import text_input
from bot.context import Context, Reply
from bot.parsing import NumberRefused, id_after, is_ascii_int, parse_id, parse_int
from bot.people import may
from bot.qr import QrPayload
from bot.reports.approvals import ApprovalService
from bot.reports.errors import ReportRefused
from bot.reports.queries import report_rows
from bot.reports.results import OperationView
from bot.reports.service import parse_quantity
from bot.reports.settings import ReportsSettings
from bot.router import Router
from handlers.reports_cards import (
    after_undo,
    button_labels,
    queue_correction_card,
    queue_report_cards,
    report_cards,
)

router = Router("reports")
QTY_STATE, REASON_STATE = "reports.qty", "reports.reason"
MINE_LIMIT = 30
# Quantities once bot.text_input made them ASCII: good, then scrap, then the scrap reason's number.
QUANTITIES = re.compile(r"([0-9]{1,9})(?:\s*[\s,/]\s*([0-9]{1,9}))?(?:\s*[\s,/]\s*([0-9]{1,3}))?")


def settings_of(ctx: Context) -> ReportsSettings:
    return ctx.settings.feature("reports")


def service(ctx: Context) -> ApprovalService:
    return ApprovalService(ctx.session, settings_of(ctx), ctx.settings.calendar, ctx.now)


def refused(exc: ReportRefused) -> Reply:
    return Reply(text=exc.message_zh)


def bad_number(ctx: Context, exc: NumberRefused) -> Reply:
    return Reply(text=exc.message(ctx.services.templates))


def form_url(ctx: Context, view: OperationView) -> str:
    """The H5 report form of this operation (the URL an op label carries), for those who prefer a form."""
    signer = ctx.services.qr
    return signer.url(QrPayload("op", (view.work_order_code, str(view.seq)))) if signer is not None else ""


async def begin_report(ctx: Context, view: OperationView, **more: str) -> None:
    """Waits for the quantities of `view` (a scanned op label, or a machine label's current operation)."""
    await ctx.set_state(QTY_STATE, {"operation_id": view.operation_id, **more}, settings_of(ctx).state_minutes * 60)


@router.scan("op")
async def scanned(ctx: Context) -> Reply:
    """Shows what the label points at and waits for the quantities (machine labels: handlers/equipment.py)."""
    assert ctx.qr is not None
    reports = service(ctx)
    try:
        view = await reports.reportable(ctx.user, ctx.qr.kind, ctx.qr.ids)
    except ReportRefused as exc:
        await ctx.clear_state()
        return refused(exc)
    await begin_report(ctx, view)
    return ctx.reply("reports/operation.txt.j2", v=view, form_url=form_url(ctx, view))


@router.text(text_input.NUMBERISH, state=QTY_STATE)
async def quantities(ctx: Context) -> Reply:
    """`48`, `48 2`, `48 2 1`, typed with a full-width keyboard or a unit (`４８件，２个`) alike."""
    typed = QUANTITIES.fullmatch(text_input.quantities(ctx.inbound.content or ""))
    if typed is None:
        return refused(ReportRefused("bad_quantity", max=settings_of(ctx).max_quantity))
    good, scrap = int(typed.group(1)), int(typed.group(2) or 0)
    operation_id = int(ctx.state.data["operation_id"])  # type: ignore[union-attr]
    settings = settings_of(ctx)
    if scrap > 0 and typed.group(3) is None:
        try:
            service(ctx).check_quantities(good, scrap, settings.scrap_reasons[0].code)
        except ReportRefused as exc:
            return refused(exc)
        await ctx.set_state(REASON_STATE, {"operation_id": operation_id, "good": good, "scrap": scrap},
                            settings.state_minutes * 60)
        return ctx.reply("reports/reasons.txt.j2", good=good, scrap=scrap, reasons=settings.scrap_reasons)
    reason = _reason_by_number(settings, typed.group(3)) if scrap > 0 else None
    if scrap > 0 and reason is None:
        return refused(ReportRefused("unknown_reason"))
    return await _record(ctx, operation_id, good, scrap, reason)


@router.text(r"[-+]?\d[\d\s.,，/+\-]*", state=QTY_STATE)
async def bad_quantities(ctx: Context) -> Reply:
    return refused(ReportRefused("bad_quantity", max=settings_of(ctx).max_quantity))


@router.text(r"([0-9０-９]{1,3})", state=REASON_STATE)
async def scrap_reason(ctx: Context) -> Reply:
    settings = settings_of(ctx)
    reason = _reason_by_number(settings, text_input.to_ascii(ctx.regex.group(1)))
    if reason is None:
        return Reply(text=ReportRefused("unknown_reason").message_zh + "\n" + ctx.render(
            "reports/reasons.txt.j2", good=ctx.state.data["good"], scrap=ctx.state.data["scrap"],  # type: ignore
            reasons=settings.scrap_reasons))
    data = ctx.state.data  # type: ignore[union-attr]
    return await _record(ctx, int(data["operation_id"]), int(data["good"]), int(data["scrap"]), reason)


def _reason_by_number(settings: ReportsSettings, number: str | None) -> str | None:
    try:
        index = parse_int(number, low=1, high=len(settings.scrap_reasons), what="原因序号")
    except NumberRefused:
        return None
    return settings.scrap_reasons[index - 1].code


async def _record(ctx: Context, operation_id: int, good: int, scrap: int, reason: str | None) -> Reply:
    settings = settings_of(ctx)
    try:
        result = await service(ctx).report(ctx.user, operation_id, good, scrap, reason, source="chat",
                                           idempotency_key=f"chat:{ctx.inbound.dedupe_key}")
    except ReportRefused as exc:
        if exc.reason_code not in ("bad_quantity", "zero_quantity", "over_report", "unknown_reason"):
            await ctx.clear_state()
        return refused(exc)
    await ctx.clear_state()
    queue_report_cards(ctx.session, ctx.services.templates, result, reporter_name=ctx.user.name,
                       undo_minutes=settings.undo_minutes, confirm=settings.confirm_card, now=ctx.now)
    return ctx.reply("reports/recorded.txt.j2", r=result, undo_minutes=settings.undo_minutes)


@router.command("报工")
async def how_to_report(ctx: Context) -> Reply:
    """报工 typed (or tapped in the menu) without a label: reporting starts from the label, so say how."""
    if not may(ctx.user, settings_of(ctx).reporting_roles):
        return refused(ReportRefused("not_reporter"))
    return ctx.reply("reports/how_to.txt.j2")


@router.text(text_input.NUMBERISH)
async def number_without_scan(ctx: Context) -> Reply:
    """A number outside any conversation: most likely quantities whose scan expired or never happened."""
    return ctx.reply("reports/scan_first.txt.j2", in_conversation=ctx.state is not None,
                     reporter=may(ctx.user, settings_of(ctx).reporting_roles))


@router.command("我的报工")
async def my_reports(ctx: Context) -> Reply:
    calendar = ctx.settings.calendar
    start, end = calendar.day_bounds(calendar.day_of(ctx.now))
    rows = await report_rows(ctx.session, settings_of(ctx), calendar, start=start, end=end, user_id=ctx.user.id,
                             statuses=None)
    counted = [r for r in rows if r.status == "confirmed"]
    shown = rows[-MINE_LIMIT:]
    corrected = await service(ctx).corrected([r.id for r in shown])
    return ctx.reply("reports/mine.txt.j2", rows=shown, more=max(0, len(rows) - MINE_LIMIT), corrected=corrected,
                     total_good=sum(r.good for r in counted), total_scrap=sum(r.scrap for r in counted))


@router.command("撤销")
async def undo_command(ctx: Context) -> Reply:
    if not is_ascii_int(ctx.args):
        return ctx.reply("reports/usage.txt.j2", command="撤销")
    try:
        return Reply(text=await _undo(ctx, parse_id(ctx.args, "报工编号")))
    except NumberRefused as exc:
        return bad_number(ctx, exc)
    except ReportRefused as exc:
        return refused(exc)


async def _undo(ctx: Context, report_id: int) -> str:
    """Undoes (or asks the team lead to undo an approved report), makes the cards follow, returns the answer."""
    reports = service(ctx)
    try:
        result = await reports.undo(ctx.user, report_id)
    except ReportRefused as exc:
        if exc.reason_code == "undo_approved" and exc.details.get("tell"):
            ctx.send("text", {"content": ctx.render("reports/undo_told.txt.j2", r_id=report_id,
                                                    by=ctx.user.name or ctx.user.wecom_userid)},
                     to=list(exc.details["tell"]))
        raise
    await after_undo(ctx.session, ctx.services.templates, reports, result, ctx.user.name)
    return ctx.render("reports/undone.txt.j2", r=result)


@router.command("更正")
async def correct(ctx: Context) -> Reply:
    parts = ctx.args.split()
    if not 2 <= len(parts) <= 4 or not all(is_ascii_int(p) for p in parts):
        return ctx.reply("reports/usage.txt.j2", command="更正")
    settings = settings_of(ctx)
    reason = _reason_by_number(settings, parts[3]) if len(parts) == 4 else None
    if len(parts) == 4 and reason is None:
        return refused(ReportRefused("unknown_reason"))
    try:
        report_id = parse_id(parts[0], "报工编号")
        good = parse_quantity(parts[1], settings.max_quantity)
        scrap = parse_quantity(parts[2] if len(parts) > 2 else "0", settings.max_quantity)
        change = await service(ctx).correct(ctx.user, report_id, good, scrap, reason)
    except NumberRefused as exc:
        return bad_number(ctx, exc)
    except ReportRefused as exc:
        return refused(exc)
    reports = service(ctx)
    queue_correction_card(ctx, reports, change)
    await report_cards(ctx, reports).follow(change.report.id)
    return ctx.reply("reports/correction.txt.j2", c=change)


def _labels(ctx: Context) -> dict[str, str]:
    return button_labels(ctx.services.templates.content_dir)


def _stale_button(ctx: Context, exc: NumberRefused) -> Reply:
    """A key no card of ours carries (forged, or from a broken client): say why, grey the button out."""
    ctx.send("text", {"content": exc.message(ctx.services.templates)})
    return Reply(replace_button=_labels(ctx)["failed"])


async def _card_refused(ctx: Context, exc: ReportRefused, report_id: int | None) -> Reply | None:
    """Say why; the tapped card catches up with the report's real state (the tap's own code pays for it)."""
    ctx.send("text", {"content": exc.message_zh})
    if report_id is None:
        return Reply(replace_button=_labels(ctx)["failed"])
    await report_cards(ctx, service(ctx)).follow(report_id)
    return None


@router.button("rep:undo:")
async def undo_button(ctx: Context) -> Reply | None:
    """No passive reply: the card is replaced as a whole (a late update_button would grey its new button)."""
    try:
        report_id = id_after(ctx.inbound.event_key, "rep:undo:", "报工编号")
        ctx.send("text", {"content": await _undo(ctx, report_id)})
    except NumberRefused as exc:
        return _stale_button(ctx, exc)
    except ReportRefused as exc:
        return await _card_refused(ctx, exc, None if exc.reason_code == "report_not_found" else report_id)
    return None


@router.button("rep:approve:")
@router.button("rep:reject:")
async def decide(ctx: Context) -> Reply | None:
    _, verb, _ = (ctx.inbound.event_key or "").split(":", 2)  # the route's prefix guarantees two colons
    reports = service(ctx)
    try:
        change_id = id_after(ctx.inbound.event_key, f"rep:{verb}:", "审批编号")
        change = await reports.decide(ctx.user, change_id, approve=verb == "approve")
    except NumberRefused as exc:
        return _stale_button(ctx, exc)
    except ReportRefused as exc:
        return await _card_refused(ctx, exc, await reports.report_of_change(change_id)
                                   if exc.reason_code != "change_not_found" else None)
    await report_cards(ctx, reports).follow(change.report.id)
    if change.report.reporter_userid:
        ctx.send("text", {"content": ctx.render("reports/decided.txt.j2", c=change)},
                 to=[change.report.reporter_userid])
    return None


@router.button("rep:view:")
@router.button("rep:apview:")
async def refresh_card(ctx: Context) -> Reply | None:
    """刷新: a card that missed changes (no code was left for it) shows the report as it is now."""
    reports = service(ctx)
    key = ctx.inbound.event_key or ""
    try:
        if key.startswith("rep:view:"):
            report_id: int | None = id_after(key, "rep:view:", "报工编号")
        else:
            report_id = await reports.report_of_change(id_after(key, "rep:apview:", "审批编号"))
    except NumberRefused as exc:
        return _stale_button(ctx, exc)
    if report_id is None:
        return Reply(replace_button=_labels(ctx)["failed"])
    await report_cards(ctx, reports).follow(report_id)
    return None
