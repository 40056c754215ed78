"""问题清单 in chat: `问题 <描述>` (or 反馈) raises an issue — the category by number, then an optional photo;
`问题 Q-2026-0012 [截止 12-05 | 转派 姓名 | 接受 | 解决 | 关闭 | 退回 | 驳回 | 重开 | 备注 … | 照片]` shows or
changes one; `我的问题` lists mine. The card buttons are in handlers/issues_cards.py."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from bot.context import Context, Reply
from bot.issues import IssueRefused, IssueService, service_for
from bot.issues.assignment import find_user
from bot.issues.dates import DateRefused, parse_due
from bot.issues.lists import my_issues
from bot.issues.numbering import NUMBER, parse_number
from bot.issues.settings import IssuesSettings
from bot.models import Machine
from bot.models.issues import Issue
from bot.parsing import NumberRefused, parse_int
from bot.router import Router

router = Router("issues")
DESCRIBE, CATEGORY, PHOTO = "issues.describe", "issues.category", "issues.photo"
DESCRIPTION_MAX = 1000
DONE_WORDS = r"完成|好了|好|没有|不用了?|跳过|不用照片|没有照片"
ACTIONS = {"接受": "accept", "解决": "resolve", "已解决": "resolve", "关闭": "confirm", "确认关闭": "confirm",
           "退回": "send_back", "驳回": "reject", "重开": "reopen"}


def settings_of(ctx: Context) -> IssuesSettings:
    return ctx.settings.feature("issues")


def service(ctx: Context) -> IssueService:
    return service_for(ctx.services, ctx.session, ctx.now)


def refused(ctx: Context, exc: IssueRefused) -> Reply:
    return ctx.reply("issues/refused.txt.j2", code=exc.code, issue=exc.issue, data=exc.data)


@router.command("问题", "反馈")
async def issue_command(ctx: Context) -> Reply:
    args = ctx.args.strip()
    if not args:
        await ctx.set_state(DESCRIBE, {}, settings_of(ctx).state_minutes * 60)
        return ctx.reply("issues/ask_description.txt.j2")
    first, _, rest = args.partition(" ")
    if (number := parse_number(first)) is not None:
        return await _on_number(ctx, number, rest.strip())
    if re.fullmatch(r"[Qq]-\S*", first):
        return ctx.reply("issues/usage.txt.j2", bad_number=first[:20])
    if first == settings_of(ctx).machine_category and rest.strip():
        code, _, text = rest.strip().partition(" ")
        machine = await ctx.session.scalar(select(Machine).where(func.upper(Machine.code) == code.upper()))
        if machine is not None:
            return await _machine_issue(ctx, machine, text.strip())
    return await _described(ctx, args, None)


async def _machine_issue(ctx: Context, machine: Machine, text: str) -> Reply:
    if not text:
        await ctx.set_state(DESCRIBE, {"machine_id": machine.id}, settings_of(ctx).state_minutes * 60)
        return ctx.reply("issues/ask_description.txt.j2", machine=machine)
    return await _described(ctx, text, machine.id)


async def start_for_machine(ctx: Context, machine_id: int) -> str:
    """What a machine label's 报告问题 starts: the next text describes a problem of that machine."""
    machine = await ctx.session.get(Machine, machine_id)
    if machine is None:
        return ctx.render("issues/refused.txt.j2", code="machine_unknown", issue=None, data={})
    await ctx.set_state(DESCRIBE, {"machine_id": machine.id}, settings_of(ctx).state_minutes * 60)
    return ctx.render("issues/ask_description.txt.j2", machine=machine)


async def _described(ctx: Context, text: str, machine_id: int | None) -> Reply:
    settings = settings_of(ctx)
    text = text.strip()[:DESCRIPTION_MAX]
    if machine_id is not None and settings.machine_category in settings.categories:
        return await _create(ctx, text, settings.machine_category, "medium", machine_id)
    await ctx.set_state(CATEGORY, {"text": text, "machine_id": machine_id}, settings.state_minutes * 60)
    return ctx.reply("issues/categories.txt.j2", categories=settings.categories, text=text)


@router.text(r"(?s)\s*(\S.{1,999})", state=DESCRIBE)
async def description(ctx: Context) -> Reply:
    text = ctx.regex.group(1).strip()
    if text in ("取消", "算了"):
        return await cancel(ctx)
    first, _, rest = text.partition(" ")
    if first in ("问题", "反馈"):  # typed the command again: the words after it are the description
        await ctx.clear_state()
        ctx.args = rest
        return await issue_command(ctx)
    machine_id = (ctx.state.data or {}).get("machine_id") if ctx.state else None  # type: ignore[union-attr]
    return await _described(ctx, text, int(machine_id) if machine_id else None)


@router.text(r"\s*(\d{1,6})\s*([高中低])?\s*", state=CATEGORY)
async def category(ctx: Context) -> Reply:
    settings = settings_of(ctx)
    try:
        index = parse_int(ctx.regex.group(1), low=1, high=len(settings.categories), what="类别序号")
    except NumberRefused:
        return ctx.reply("issues/categories.txt.j2", categories=settings.categories, wrong=ctx.regex.group(1),
                         text=ctx.state.data.get("text", ""))  # type: ignore[union-attr]
    priority = {"高": "high", "低": "low"}.get(ctx.regex.group(2) or "", "medium")
    data = ctx.state.data  # type: ignore[union-attr]
    machine_id = data.get("machine_id")
    return await _create(ctx, str(data.get("text", "")), settings.categories[index - 1], priority,
                         int(machine_id) if machine_id else None)


async def _create(ctx: Context, text: str, category_name: str, priority: str, machine_id: int | None) -> Reply:
    opened = await service(ctx).open_issue(source="chat", title=text, description=text, category=category_name,
                                           priority=priority, reporter=ctx.user, machine_id=machine_id)
    await ctx.set_state(PHOTO, {"issue_id": opened.issue.id}, settings_of(ctx).state_minutes * 60)
    view = await service(ctx).view(opened.issue)
    return ctx.reply("issues/created.txt.j2", v=view)


@router.text(r"\s*(取消|算了)\s*", state=DESCRIBE)
@router.text(r"\s*(取消|算了)\s*", state=CATEGORY)
async def cancel(ctx: Context) -> Reply:
    await ctx.clear_state()
    return ctx.reply("issues/cancelled.txt.j2")


@router.image(state=PHOTO)
async def photo(ctx: Context) -> Reply:
    issue_id = int(ctx.state.data["issue_id"])  # type: ignore[union-attr]
    if not ctx.inbound.media_id:
        return ctx.reply("issues/photo_hint.txt.j2")
    try:
        await service(ctx).add_photo(issue_id, ctx.user, ctx.inbound.media_id)
    except IssueRefused as exc:
        await ctx.clear_state()
        return refused(ctx, exc)
    await ctx.set_state(PHOTO, {"issue_id": issue_id}, settings_of(ctx).state_minutes * 60)
    issue = await ctx.session.get(Issue, issue_id)
    return ctx.reply("issues/photo_received.txt.j2", issue=issue)


@router.text(rf"\s*({DONE_WORDS})\s*", state=PHOTO)
async def photos_done(ctx: Context) -> Reply:
    issue = await ctx.session.get(Issue, int(ctx.state.data["issue_id"]))  # type: ignore[union-attr]
    await ctx.clear_state()
    return ctx.reply("issues/photo_done.txt.j2", issue=issue)


@router.image()
async def photo_without_issue(ctx: Context) -> Reply:
    return ctx.reply("issues/photo_hint.txt.j2")


@router.command("我的问题")
async def mine(ctx: Context) -> Reply:
    groups = await my_issues(ctx.session, ctx.user, ctx.settings.calendar.day_of(ctx.now))
    return ctx.reply("issues/mine.txt.j2", groups=groups, today=ctx.settings.calendar.day_of(ctx.now))


async def _on_number(ctx: Context, number: str, rest: str) -> Reply:
    issues = service(ctx)
    word, _, arg = rest.partition(" ")
    arg = arg.strip()
    try:
        issue = await issues.by_number(number)
        if not word:
            return ctx.reply("issues/show.txt.j2", v=await issues.view(issue),
                             history=await issues.history(issue.id), viewer=ctx.user)
        if word == "截止":
            day = parse_due(arg, ctx.settings.calendar.day_of(ctx.now))
            await issues.set_due(issue.id, ctx.user, day)
        elif word == "转派":
            found = await find_user(ctx.session, arg)
            if len(found) != 1:
                return ctx.reply("issues/who.txt.j2", name=arg[:20], found=found, issue=issue)
            await issues.reassign(issue.id, ctx.user, found[0])
        elif word in ACTIONS:
            method = getattr(issues, ACTIONS[word])
            with_note = ACTIONS[word] in ("resolve", "send_back", "reject", "reopen")
            await (method(issue.id, ctx.user, arg[:500]) if with_note else method(issue.id, ctx.user))
        elif word == "备注" and arg:
            await issues.comment(issue.id, ctx.user, arg)
        elif word == "照片":
            await ctx.set_state(PHOTO, {"issue_id": issue.id}, settings_of(ctx).state_minutes * 60)
            return ctx.reply("issues/photo_ask.txt.j2", issue=issue)
        else:
            return ctx.reply("issues/usage.txt.j2", bad_number=None)
    except IssueRefused as exc:
        return refused(ctx, exc)
    except DateRefused as exc:
        return ctx.reply("issues/bad_date.txt.j2", text=exc.text[:20], issue_number=number)
    return ctx.reply("issues/changed.txt.j2", v=await issues.view(issue), word=word)


__all__ = ["NUMBER", "router", "start_for_machine"]
