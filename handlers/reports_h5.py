"""扫码报工 as a mobile page: WeCom's own scanner opens the QR URL, the form is pre-filled from the signed
payload, and a per-form idempotency key makes double taps and resubmits one report."""
from __future__ import annotations

import re
import secrets

from aiohttp import web

from bot.qr import QrError
from bot.reports.approvals import ApprovalService
from bot.reports.errors import ReportRefused
from bot.reports.results import OperationView, ReportResult
from bot.reports.service import parse_quantity
from bot.reports.settings import ReportsSettings
from bot.router import Router
from bot.web.h5 import H5Context
from handlers.reports_cards import queue_report_cards

router = Router("reports_h5")
FORM, DONE = "reports/form.html.j2", "reports/done.html.j2"
_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


def settings_of(ctx: H5Context) -> ReportsSettings:
    return ctx.services.settings.feature("reports")


def service(ctx: H5Context) -> ApprovalService:
    return ApprovalService(ctx.session, settings_of(ctx), ctx.services.settings.tz, ctx.now)


def form_page(ctx: H5Context, view: OperationView, token: str, key: str, *, error: str = "",
              values: dict[str, str] | None = None, status: int = 200) -> web.Response:
    return ctx.page(FORM, status=status, v=view, token=token, key=key, error=error, values=values or {},
                    reasons=settings_of(ctx).scrap_reasons)


def error_page(ctx: H5Context, message: str, status: int = 400) -> web.Response:
    return ctx.page("core/h5_error.html.j2", status=status, title="无法报工", message=message)


@router.scan_page("op")
@router.scan_page("machine")
async def form(ctx: H5Context) -> web.StreamResponse:
    """The form a scanned label opens; the key is minted here, once per rendered form."""
    assert ctx.qr is not None
    reports = service(ctx)
    try:
        view = await reports.reportable(ctx.user, ctx.qr.kind, ctx.qr.ids)
    except ReportRefused as exc:
        return error_page(ctx, exc.message_zh, 403 if exc.reason_code in ("wrong_line", "not_reporter") else 404)
    return form_page(ctx, view, ctx.request.match_info["token"], secrets.token_urlsafe(18))


@router.h5("POST", "/h5/report")
async def submit(ctx: H5Context) -> web.StreamResponse:
    data = await ctx.request.post()
    token, key = str(data.get("token", "")), str(data.get("key", ""))
    values = {name: str(data.get(name, "")).strip() for name in ("good", "scrap", "reason")}
    signer = ctx.services.qr
    if signer is None or not _KEY.fullmatch(key):
        return error_page(ctx, "表单已失效，请重新扫码。")
    try:
        payload = signer.verify(token, now=ctx.now)
        view = await service(ctx).operation_for(payload.kind, payload.ids)
    except QrError as exc:
        return error_page(ctx, exc.message_zh)
    except ReportRefused as exc:
        return error_page(ctx, exc.message_zh, 404)
    settings = settings_of(ctx)
    try:
        good = parse_quantity(values["good"] or "0", settings.max_quantity)
        scrap = parse_quantity(values["scrap"] or "0", settings.max_quantity)
        result = await _record(ctx, view.operation_id, good, scrap, values["reason"] or None, key)
    except ReportRefused as exc:
        return form_page(ctx, view, token, key, error=exc.message_zh, values=values, status=422)
    return ctx.page(DONE, r=result, undo_minutes=settings.undo_minutes, undone=False)


@router.h5("POST", "/h5/report/undo")
async def undo(ctx: H5Context) -> web.StreamResponse:
    data = await ctx.request.post()
    report_id = str(data.get("report", ""))
    if not report_id.isdigit():
        return error_page(ctx, "缺少报工编号。")
    try:
        result = await service(ctx).undo(ctx.user, int(report_id))
    except ReportRefused as exc:
        return error_page(ctx, exc.message_zh, 409)
    return ctx.page(DONE, r=result, undo_minutes=0, undone=True)


async def _record(ctx: H5Context, operation_id: int, good: int, scrap: int, reason: str | None,
                  key: str) -> ReportResult:
    """In the page's transaction: the card leaves only if the report commits; the key makes repeats one."""
    settings = settings_of(ctx)
    result = await service(ctx).report(ctx.user, operation_id, good, scrap, reason, source="h5",
                                       idempotency_key=f"h5:{ctx.user.id}:{key}")
    if not result.duplicate:
        queue_report_cards(ctx.session, ctx.services.templates, result, reporter_name=ctx.user.name,
                           undo_minutes=settings.undo_minutes, confirm=settings.confirm_card, now=ctx.now)
    return result
