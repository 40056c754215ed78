"""The issue list as mobile pages for PMs and managers (`/h5/issues`: filter, sort, open one, change status,
owner or due date within their role), the weekly digest's page, and the new-issue form for everyone
(`/h5/issues/new`, photos by JS-SDK chooseImage/uploadImage, or a plain file input without the JS-SDK).

Every change goes through the issue service, so the cards, history and refusals are the chat's; each form
carries a server-issued key for this user and issue (a forged or stale form changes nothing)."""
from __future__ import annotations

import hashlib
from datetime import date, timedelta
from urllib.parse import urlencode

from aiohttp import BodyPartReader, web
from sqlalchemy import select

from bot.issues import IssueRefused, IssueService, service_for
from bot.issues.assignment import owner_candidates
from bot.issues.cards import actions_for
from bot.issues.digest import build_digest, reported_week, week_of
from bot.issues.listing import PAGE_SIZE, SORTS, STATUS_GROUPS, IssueFilter, item_page
from bot.issues.numbering import parse_number
from bot.issues.options import filter_choices
from bot.issues.photos import image_type
from bot.issues.settings import PRIORITIES, IssuesSettings
from bot.models import Line, Machine
from bot.models.issues import Issue, IssuePhoto, PhotoStatus
from bot.people import may
from bot.router import Router
from bot.web.h5 import H5Context
from bot.web.h5_tokens import TokenRefused
from handlers.patrols_h5 import jssdk_url, wx_config

router = Router("issues_h5")
LIST_ROLES = ("pm", "manager")
LIST, DETAIL, DIGEST, NEW = ("issues/list.html.j2", "issues/detail.html.j2", "issues/digest.html.j2",
                             "issues/new.html.j2")
STATUSES = ("open", "new", "in_progress", "to_verify", "done", "closed", "rejected", "")
MAX_FIELDS = 32


def settings_of(ctx: H5Context) -> IssuesSettings:
    return ctx.services.settings.feature("issues")


def today(ctx: H5Context) -> date:
    return ctx.services.settings.calendar.day_of(ctx.now)


def see_other(path: str) -> web.Response:
    """Returned, not raised: raising would roll back the page's transaction (bot/web/h5.py)."""
    return web.Response(status=303, headers={"Location": path})


def error_page(ctx: H5Context, message: str, status: int = 400) -> web.Response:
    return ctx.page("core/h5_error.html.j2", status=status, title="问题清单", message=message)


def refusal(ctx: H5Context, exc: IssueRefused) -> str:
    return ctx.services.templates.render("issues/refused.txt.j2", code=exc.code, issue=exc.issue,
                                         data=exc.data).strip()


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 10 else None


def filters_from(query: dict[str, str]) -> IssueFilter:
    status = query.get("status", "open")
    return IssueFilter(status=status if status in STATUSES else "open", owner_id=_int(query.get("owner", "")),
                       line_id=_int(query.get("line", "")), category=query.get("category", "")[:32],
                       overdue=query.get("overdue", "") == "1",
                       sort=query.get("sort", "due") if query.get("sort", "due") in SORTS else "due")


@router.h5("GET", "/h5/issues", roles=LIST_ROLES)
async def issue_list(ctx: H5Context) -> web.StreamResponse:
    query = dict(ctx.request.query)
    filters = filters_from(query)
    settings, day = settings_of(ctx), today(ctx)
    labels = ctx.services.templates.env.get_template("issues/macros.j2").module
    page = await item_page(ctx.session, filters, day, _int(query.get("page", "1")) or 1, PAGE_SIZE,
                           labels.STATUS, labels.PRIORITY)  # type: ignore[attr-defined]
    choices = await filter_choices(ctx.session, settings.owner_roles)
    kept = {k: v for k, v in query.items() if k != "page" and v}
    return ctx.page(LIST, p=page, items=page.items, f=filters, owners=choices.owners, lines=choices.lines,
                    categories=settings.categories, today=day, sorts=list(SORTS), groups=STATUS_GROUPS,
                    link=lambda n: "/h5/issues?" + urlencode({**kept, "page": n}))


@router.h5("GET", "/h5/issues/digest", roles=LIST_ROLES)
async def digest_page(ctx: H5Context) -> web.StreamResponse:
    calendar = ctx.services.settings.calendar
    try:
        week = week_of(calendar, date.fromisoformat(ctx.request.query.get("week", "")))
    except ValueError:
        week = reported_week(calendar, ctx.now)
    return ctx.page(DIGEST, d=await build_digest(ctx.session, calendar, week))


# ---------------------------------------------------------------- the new-issue form
def new_purpose() -> str:
    return "issue:new"


async def new_form(ctx: H5Context, *, error: str = "", values: dict[str, str] | None = None,
                   status: int = 200) -> web.Response:
    script = jssdk_url(ctx)
    lines = list(await ctx.session.scalars(select(Line).order_by(Line.code)))
    machines = list(await ctx.session.scalars(select(Machine).order_by(Machine.code)))
    return ctx.page(NEW, status=status, key=ctx.form_key(new_purpose()), error=error, values=values or {},
                    categories=settings_of(ctx).categories, priorities=PRIORITIES, lines=lines, machines=machines,
                    max_photos=settings_of(ctx).max_photos, jssdk=script,
                    wx=await wx_config(ctx) if script else None)


@router.h5("GET", "/h5/issues/new")
async def new_page(ctx: H5Context) -> web.StreamResponse:
    return await new_form(ctx)


async def _read(ctx: H5Context, limit: int, max_files: int) -> tuple[dict[str, str], list[bytes]]:
    """Fields and photo files, streamed; a file over the limit stops the read (nothing is kept)."""
    if not ctx.request.content_type.startswith("multipart/"):
        data = await ctx.request.post()
        return {k: str(v)[:2000] for k, v in data.items() if isinstance(v, str)}, []
    fields: dict[str, str] = {}
    files: list[bytes] = []
    count = 0
    async for part in await ctx.request.multipart():
        count += 1
        if count > MAX_FIELDS + max_files or not isinstance(part, BodyPartReader) or not part.name:
            raise ValueError("too many fields")
        if part.filename is None:
            fields.setdefault(part.name, (await part.read(decode=True)).decode("utf-8", "replace")[:2000])
            continue
        data = bytearray()
        while chunk := await part.read_chunk():
            data += chunk
            if len(data) > limit:
                raise OverflowError
        if data:
            files.append(bytes(data))
    return fields, files


@router.h5("POST", "/h5/issues/new")
async def new_submit(ctx: H5Context) -> web.StreamResponse:
    settings = settings_of(ctx)
    limit = settings.max_photo_mb * 2**20
    try:
        fields, files = await _read(ctx, limit, settings.max_photos)
    except OverflowError:
        return error_page(ctx, f"照片不能超过 {settings.max_photo_mb} MB，问题未提交，请重新选择。", 413)
    except ValueError:
        return error_page(ctx, "表单内容有误，问题未提交。", 400)
    try:
        nonce = ctx.check_form_key(fields.get("key", ""), new_purpose())
    except TokenRefused:
        return error_page(ctx, "表单无效或已过期，问题未提交，请重新打开。", 403)
    values = {k: fields.get(k, "").strip() for k in ("description", "category", "priority", "line", "machine")}
    media_ids = [m for m in fields.get("media_ids", "").split(",") if m.strip()][:settings.max_photos]
    if not values["description"]:
        return await new_form(ctx, error="请填写问题描述。", values=values, status=422)
    if len(files) + len(media_ids) > settings.max_photos:
        return await new_form(ctx, error=f"最多 {settings.max_photos} 张照片。", values=values, status=422)
    if any(image_type(data) is None for data in files):
        return await new_form(ctx, error="只能上传照片（JPG、PNG 等图片）。", values=values, status=422)
    issues = service_for(ctx.services, ctx.session, ctx.now)
    opened = await issues.open_issue(
        source="h5", ref=f"h5:{ctx.user.id}:{nonce}"[:64], title=values["description"],
        description=values["description"], category=values["category"] or None,
        priority=values["priority"] if values["priority"] in PRIORITIES else "medium", reporter=ctx.user,
        line_id=_int(values["line"]), machine_id=_int(values["machine"]))
    if opened.created:
        for data in files:
            _stored_photo(ctx, opened.issue.id, data)
        for media_id in media_ids:  # the photo job fetches these with media/get, as for chat photos
            await issues.add_photo(opened.issue.id, ctx.user, media_id.strip())
    return see_other(f"/h5/issues/{opened.issue.number}?created=1")


def _stored_photo(ctx: H5Context, issue_id: int, data: bytes) -> None:
    ctx.session.add(IssuePhoto(issue_id=issue_id, uploaded_by=ctx.user.id, status=PhotoStatus.STORED,
                               content_type=image_type(data) or "", size=len(data), data=data,
                               sha256=hashlib.sha256(data).hexdigest(), created_at=ctx.now, stored_at=ctx.now,
                               next_attempt_at=ctx.now))


# ---------------------------------------------------------------- one issue
def detail_purpose(issue_id: int) -> str:
    return f"issue:{issue_id}"


async def detail(ctx: H5Context, number: str, *, error: str = "", status: int = 200) -> web.Response:
    issues = service_for(ctx.services, ctx.session, ctx.now)
    try:
        issue = await issues.by_number(number)
    except IssueRefused as exc:
        return error_page(ctx, refusal(ctx, exc), 404)
    view = await issues.view(issue)
    settings = settings_of(ctx)
    actions = [a for a in actions_for(view, ctx.user, settings) if a != "view"]
    if issue.status in ("closed", "rejected") and (ctx.user.id in (issue.reporter_id, issue.verifier_id)
                                                   or may(ctx.user, [settings.pm_role])):
        actions.append("reopen")
    candidates = await owner_candidates(ctx.session, settings, line_id=issue.line_id, exclude=[issue.owner_id],
                                        limit=50) if "fwd" in actions else []
    return ctx.page(DETAIL, status=status, v=view, history=await issues.history(issue.id), actions=actions,
                    candidates=candidates, key=ctx.form_key(detail_purpose(issue.id)), error=error,
                    created=ctx.request.query.get("created") == "1", today=today(ctx),
                    due_choices=[today(ctx) + timedelta(days=d) for d in (0, 1, 3, 7)])


@router.h5("GET", "/h5/issues/{number}")
async def detail_page(ctx: H5Context) -> web.StreamResponse:
    number = parse_number(ctx.request.match_info["number"]) or ""
    return await detail(ctx, number)


@router.h5("POST", "/h5/issues/{number}")
async def change(ctx: H5Context) -> web.StreamResponse:
    """One change of the detail page's forms; a refusal shows the page again with the chat's reason."""
    number = parse_number(ctx.request.match_info["number"]) or ""
    data = await ctx.request.post()
    form = {k: str(v)[:1000] for k, v in data.items() if isinstance(v, str)}
    issues = service_for(ctx.services, ctx.session, ctx.now)
    try:
        issue = await issues.by_number(number)
        ctx.check_form_key(form.get("key", ""), detail_purpose(issue.id))
    except IssueRefused as exc:
        return error_page(ctx, refusal(ctx, exc), 404)
    except TokenRefused:
        return error_page(ctx, "表单无效或已过期，未修改，请刷新页面。", 403)
    action, note = form.get("action", ""), form.get("note", "").strip()
    if action == "due":
        try:
            day = date.fromisoformat(form.get("due", ""))
        except ValueError:
            return await detail(ctx, number, error="请选择截止日期。", status=422)
    try:
        async with ctx.session.begin_nested():  # a refusal undoes only this change
            await _apply(ctx, issues, issue, action, note, form, day if action == "due" else None)
    except IssueRefused as exc:
        return await detail(ctx, number, error=refusal(ctx, exc), status=409)
    except LookupError:
        return await detail(ctx, number, error="未知操作。", status=422)
    return see_other(f"/h5/issues/{number}")


async def _apply(ctx: H5Context, issues: IssueService, issue: Issue, action: str, note: str, form: dict[str, str],
                 day: date | None) -> None:
    if action == "acc":
        await issues.accept(issue.id, ctx.user)
    elif action == "res":
        await issues.resolve(issue.id, ctx.user, note)
    elif action == "close":
        await issues.confirm(issue.id, ctx.user)
    elif action == "ret":
        await issues.send_back(issue.id, ctx.user, note)
    elif action == "rej":
        await issues.reject(issue.id, ctx.user, note)
    elif action == "reopen":
        await issues.reopen(issue.id, ctx.user, note)
    elif action == "fwd":
        wanted = _int(form.get("owner", ""))
        offered = await owner_candidates(ctx.session, settings_of(ctx), line_id=issue.line_id,
                                         exclude=[issue.owner_id], limit=10_000)
        owner = next((u for u in offered if u.id == wanted), None)
        if owner is None:  # as in chat: only whom 转派 offers (owner roles on the issue's line or plant-wide)
            raise IssueRefused("not_candidate", issue)
        await issues.reassign(issue.id, ctx.user, owner)
    elif action == "due" and day is not None:
        await issues.set_due(issue.id, ctx.user, day)
    else:
        raise LookupError(action)
