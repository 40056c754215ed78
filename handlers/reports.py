"""扫码报工 in chat: scan a work-order or machine QR, reply quantities, pick a scrap reason, undo or correct
on the confirmation card, and team leads approve over-reports and late corrections on theirs."""
from __future__ import annotations

from bot.context import Context, Reply
from bot.reports.approvals import ApprovalService
from bot.reports.errors import ReportRefused
from bot.reports.queries import local_day_bounds, report_rows
from bot.reports.settings import ReportsSettings
from bot.router import Router
from handlers.reports_cards import button_labels, queue_correction_card, queue_report_cards

router = Router("reports")
QTY_STATE, REASON_STATE = "reports.qty", "reports.reason"
MINE_LIMIT = 30


def settings_of(ctx: Context) -> ReportsSettings:
    return ctx.settings.feature("reports")


def service(ctx: Context) -> ApprovalService:
    return ApprovalService(ctx.session, settings_of(ctx), ctx.settings.tz, ctx.now)


def refused(exc: ReportRefused) -> Reply:
    return Reply(text=exc.message_zh)


@router.scan("op")
@router.scan("machine")
async def scanned(ctx: Context) -> Reply:
    """Shows what the label points at and waits for the quantities."""
    assert ctx.qr is not None
    reports = service(ctx)
    try:
        view = await reports.reportable(ctx.user, ctx.qr.kind, ctx.qr.ids)
    except ReportRefused as exc:
        await ctx.clear_state()
        return refused(exc)
    await ctx.set_state(QTY_STATE, {"operation_id": view.operation_id}, settings_of(ctx).state_minutes * 60)
    return ctx.reply("reports/operation.txt.j2", v=view)


@router.text(r"(\d{1,9})(?:\s*[\s,，/]\s*(\d{1,9}))?(?:\s*[\s,，/]\s*(\d{1,3}))?", state=QTY_STATE)
async def quantities(ctx: Context) -> Reply:
    good, scrap = int(ctx.regex.group(1)), int(ctx.regex.group(2) or 0)
    operation_id = int(ctx.state.data["operation_id"])  # type: ignore[union-attr]
    settings = settings_of(ctx)
    if scrap > 0 and ctx.regex.group(3) is None:
        try:
            service(ctx).check_quantities(good, scrap, settings.scrap_reasons[0].code)
        except ReportRefused as exc:
            return refused(exc)
        await ctx.set_state(REASON_STATE, {"operation_id": operation_id, "good": good, "scrap": scrap},
                            settings.state_minutes * 60)
        return ctx.reply("reports/reasons.txt.j2", good=good, scrap=scrap, reasons=settings.scrap_reasons)
    reason = _reason_by_number(settings, ctx.regex.group(3)) if scrap > 0 else None
    if scrap > 0 and reason is None:
        return refused(ReportRefused("unknown_reason"))
    return await _record(ctx, operation_id, good, scrap, reason)


@router.text(r"[-+]?\d[\d\s.,，/+\-]*", state=QTY_STATE)
async def bad_quantities(ctx: Context) -> Reply:
    return refused(ReportRefused("bad_quantity", max=settings_of(ctx).max_quantity))


@router.text(r"(\d{1,3})", state=REASON_STATE)
async def scrap_reason(ctx: Context) -> Reply:
    settings = settings_of(ctx)
    reason = _reason_by_number(settings, ctx.regex.group(1))
    if reason is None:
        return Reply(text=ReportRefused("unknown_reason").message_zh + "\n" + ctx.render(
            "reports/reasons.txt.j2", good=ctx.state.data["good"], scrap=ctx.state.data["scrap"],  # type: ignore
            reasons=settings.scrap_reasons))
    data = ctx.state.data  # type: ignore[union-attr]
    return await _record(ctx, int(data["operation_id"]), int(data["good"]), int(data["scrap"]), reason)


def _reason_by_number(settings: ReportsSettings, number: str | None) -> str | None:
    if number is None or not number.isdigit() or not 1 <= int(number) <= len(settings.scrap_reasons):
        return None
    return settings.scrap_reasons[int(number) - 1].code


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


@router.command("我的报工")
async def my_reports(ctx: Context) -> Reply:
    start, end = local_day_bounds(ctx.now.astimezone(ctx.settings.tz).date(), ctx.settings.tz)
    rows = await report_rows(ctx.session, settings_of(ctx), start=start, end=end, user_id=ctx.user.id,
                             statuses=None)
    counted = [r for r in rows if r.status == "confirmed"]
    return ctx.reply("reports/mine.txt.j2", rows=rows[-MINE_LIMIT:], more=max(0, len(rows) - MINE_LIMIT),
                     total_good=sum(r.good for r in counted), total_scrap=sum(r.scrap for r in counted))


@router.command("撤销")
async def undo_command(ctx: Context) -> Reply:
    if not ctx.args.isdigit():
        return ctx.reply("reports/usage.txt.j2", command="撤销")
    try:
        result = await service(ctx).undo(ctx.user, int(ctx.args))
    except ReportRefused as exc:
        return refused(exc)
    return ctx.reply("reports/undone.txt.j2", r=result)


@router.command("更正")
async def correct(ctx: Context) -> Reply:
    parts = ctx.args.split()
    if not 2 <= len(parts) <= 4 or not all(p.isdigit() for p in parts):
        return ctx.reply("reports/usage.txt.j2", command="更正")
    settings = settings_of(ctx)
    reason = _reason_by_number(settings, parts[3]) if len(parts) == 4 else None
    if len(parts) == 4 and reason is None:
        return refused(ReportRefused("unknown_reason"))
    try:
        change = await service(ctx).correct(ctx.user, int(parts[0]), int(parts[1]),
                                            int(parts[2]) if len(parts) > 2 else 0, reason)
    except ReportRefused as exc:
        return refused(exc)
    queue_correction_card(ctx.session, ctx.services.templates, change, reporter_name=ctx.user.name,
                          now=ctx.now)
    return ctx.reply("reports/correction.txt.j2", c=change)


def _labels(ctx: Context) -> dict[str, str]:
    return button_labels(ctx.services.templates.content_dir)


@router.button("rep:undo:")
async def undo_button(ctx: Context) -> Reply:
    labels = _labels(ctx)
    try:
        await service(ctx).undo(ctx.user, int((ctx.inbound.event_key or "").rsplit(":", 1)[1]))
    except ReportRefused as exc:
        if exc.reason_code == "already_undone":
            return Reply(replace_button=labels["undone"])
        ctx.send("text", {"content": exc.message_zh})
        return Reply(replace_button=labels["undo_expired" if exc.reason_code == "undo_expired" else "failed"])
    return Reply(replace_button=labels["undone"])


@router.button("rep:approve:")
@router.button("rep:reject:")
async def decide(ctx: Context) -> Reply:
    labels = _labels(ctx)
    _, verb, change_id = (ctx.inbound.event_key or "").split(":", 2)
    try:
        change = await service(ctx).decide(ctx.user, int(change_id), approve=verb == "approve")
    except ReportRefused as exc:
        if exc.reason_code == "already_decided":
            return Reply(replace_button=labels["decided"])
        ctx.send("text", {"content": exc.message_zh})
        return Reply(replace_button=labels["failed"])
    if change.report.reporter_userid:
        ctx.send("text", {"content": ctx.render("reports/decided.txt.j2", c=change)},
                 to=[change.report.reporter_userid])
    return Reply(replace_button=labels["approved" if change.status == "approved" else "rejected"])
