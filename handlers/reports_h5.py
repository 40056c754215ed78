"""扫码报工 as a mobile page: WeCom's own scanner opens the QR URL, the form is pre-filled from the signed
payload, and a form key the server issues (signed, for this user and operation) makes double taps and
resubmits one report, while a key it never issued is refused."""
from __future__ import annotations

from aiohttp import web

from bot.parsing import NumberRefused, parse_id
from bot.qr import QrError, QrPayload
from bot.reports.approvals import ApprovalService
from bot.reports.errors import ReportRefused
from bot.reports.results import OperationView, ReportResult
from bot.reports.service import parse_quantity
from bot.reports.settings import ReportsSettings
from bot.router import Router
from bot.web.h5 import H5Context
from bot.web.h5_tokens import FORM_KEY_TTL_S, TokenRefused
from handlers.reports_cards import after_undo, queue_report_cards

router = Router("reports_h5")
FORM, DONE = "reports/form.html.j2", "reports/done.html.j2"


def settings_of(ctx: H5Context) -> ReportsSettings:
    return ctx.services.settings.feature("reports")


def service(ctx: H5Context) -> ApprovalService:
    return ApprovalService(ctx.session, settings_of(ctx), ctx.services.settings.calendar, ctx.now)


def form_page(ctx: H5Context, view: OperationView, token: str, key: str, *, error: str = "",
              values: dict[str, str] | None = None, status: int = 200) -> web.Response:
    return ctx.page(FORM, status=status, v=view, token=token, key=key, error=error, values=values or {},
                    reasons=settings_of(ctx).scrap_reasons)


def error_page(ctx: H5Context, message: str, status: int = 400) -> web.Response:
    return ctx.page("core/h5_error.html.j2", status=status, title="无法报工", message=message)


def purpose(operation_id: int) -> str:
    return f"report:{operation_id}"


def key_refused(ctx: H5Context, exc: TokenRefused) -> web.Response:
    if exc.reason == "expired":
        return error_page(ctx, f"表单已超过 {FORM_KEY_TTL_S // 3600} 小时，已失效，请重新扫码。")
    return error_page(ctx, "表单无效（不是本系统为您打开的报工表单），本次未记录，请重新扫码。", 403)


@router.scan_page("op")
async def form(ctx: H5Context) -> web.StreamResponse:
    """The form a scanned label opens; its key is issued here, once per rendered form."""
    assert ctx.qr is not None
    return await _form_for(ctx, ctx.qr, ctx.request.match_info["token"])


@router.h5("GET", "/h5/report/label/{token}")
async def form_by_label(ctx: H5Context) -> web.StreamResponse:
    """The form for a label's token, linked from the machine page (a machine label opens the machine first)."""
    token = ctx.request.match_info["token"]
    signer = ctx.services.qr
    try:
        if signer is None:
            return error_page(ctx, "二维码无效。")
        payload = signer.verify(token, now=ctx.now)
    except QrError as exc:
        return error_page(ctx, exc.message_zh)
    if payload.kind not in ("op", "machine"):
        return error_page(ctx, "这不是报工标签。")
    return await _form_for(ctx, payload, token)


async def _form_for(ctx: H5Context, label: QrPayload, token: str) -> web.StreamResponse:
    try:
        view = await service(ctx).reportable(ctx.user, label.kind, label.ids)
    except ReportRefused as exc:
        return error_page(ctx, exc.message_zh, 403 if exc.reason_code in ("wrong_line", "not_reporter") else 404)
    return form_page(ctx, view, token, ctx.form_key(purpose(view.operation_id)))


@router.h5("POST", "/h5/report")
async def submit(ctx: H5Context) -> web.StreamResponse:
    data = await ctx.request.post()
    token, key = str(data.get("token", "")), str(data.get("key", ""))
    values = {name: str(data.get(name, "")).strip() for name in ("good", "scrap", "reason")}
    signer = ctx.services.qr
    if signer is None:
        return error_page(ctx, "表单已失效，请重新扫码。")
    try:
        payload = signer.verify(token, now=ctx.now)
        view = await service(ctx).operation_for(payload.kind, payload.ids)
        nonce = ctx.check_form_key(key, purpose(view.operation_id))
    except QrError as exc:
        return error_page(ctx, exc.message_zh)
    except ReportRefused as exc:
        return error_page(ctx, exc.message_zh, 404)
    except TokenRefused as exc:
        return key_refused(ctx, exc)
    settings = settings_of(ctx)
    try:
        good = parse_quantity(values["good"] or "0", settings.max_quantity)
        scrap = parse_quantity(values["scrap"] or "0", settings.max_quantity)
        result = await _record(ctx, view.operation_id, good, scrap, values["reason"] or None, nonce)
    except ReportRefused as exc:
        return form_page(ctx, view, token, key, error=exc.message_zh, values=values, status=422)
    return ctx.page(DONE, r=result, undo_minutes=settings.undo_minutes, undone=False)


@router.h5("POST", "/h5/report/undo")
async def undo(ctx: H5Context) -> web.StreamResponse:
    data = await ctx.request.post()
    reports = service(ctx)
    try:
        result = await reports.undo(ctx.user, parse_id(str(data.get("report", "")), "报工编号"))
    except NumberRefused as exc:
        return error_page(ctx, exc.message(ctx.services.templates))
    except ReportRefused as exc:
        return error_page(ctx, exc.message_zh, 409)
    # As in chat: the report's cards follow, and an undo after approval goes to the team lead again.
    await after_undo(ctx.session, ctx.services.templates, reports, result, ctx.user.name)
    return ctx.page(DONE, r=result, undo_minutes=0, undone=True)


async def _record(ctx: H5Context, operation_id: int, good: int, scrap: int, reason: str | None,
                  nonce: str) -> ReportResult:
    """In the page's transaction: the card leaves only if the report commits; the key makes repeats one."""
    settings = settings_of(ctx)
    result = await service(ctx).report(ctx.user, operation_id, good, scrap, reason, source="h5",
                                       idempotency_key=f"h5:{ctx.user.id}:{nonce}")
    if not result.duplicate:
        queue_report_cards(ctx.session, ctx.services.templates, result, reporter_name=ctx.user.name,
                           undo_minutes=settings.undo_minutes, confirm=settings.confirm_card, now=ctx.now)
    return result
