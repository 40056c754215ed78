"""The issue card's buttons: 接受 / 转派 / 已解决 for the owner, 确认关闭 / 退回 for the verifier, 转派 / 截止日期 /
驳回 for a PM, 刷新 for everyone, and `iss:machine:<id>` for a machine label's 报告问题.

Taps get no passive reply and no extra text: the change replaces the tapped card (and every other card of the
issue) through bot.cards, and whoever must act next gets one card — one message per change and person.
"""
from __future__ import annotations

import re

from bot import cards
from bot.context import Context, Reply
from bot.issues import IssueRefused, IssueService, service_for
from bot.issues.assignment import owner_candidates
from bot.issues.cards import DUE_CHOICES, IssueCards
from bot.models import User
from bot.models.cards import SentCard
from bot.parsing import NumberRefused, id_after, parse_id, parse_int
from bot.people import may
from bot.router import Router
from handlers.issues import settings_of, start_for_machine

router = Router("issues_cards")
_DUESET = re.compile(r"iss:dueset:([0-9]{1,10}):([0-9]{1,10})")


def issue_cards(ctx: Context) -> IssueCards:
    return IssueCards(ctx.session, ctx.services.templates, settings_of(ctx), ctx.now)


async def _tapped(ctx: Context) -> SentCard | None:
    """Every tap brings a new single-use code for its card: keep it for the next replacement."""
    return await cards.note_tap(ctx.session, ctx.inbound.task_id, ctx.user.wecom_userid, ctx.inbound.response_code,
                                ctx.now)


def _stale(ctx: Context, exc: NumberRefused) -> Reply:
    """A key no card of ours carries (forged, or from a broken client): say why, grey the button out."""
    ctx.send("text", {"content": exc.message(ctx.services.templates)})
    return Reply(replace_button=ctx.render("issues/button_failed.txt.j2"))


async def _refused(ctx: Context, issues: IssueService, exc: IssueRefused) -> Reply | None:
    """Say why; the cards catch up with the issue's real state (the tap's code pays for the tapper's)."""
    ctx.send("text", {"content": ctx.render("issues/refused.txt.j2", code=exc.code, issue=exc.issue, data=exc.data)})
    if exc.issue is None:
        return Reply(replace_button=ctx.render("issues/button_failed.txt.j2"))
    await issue_cards(ctx).follow(await issues.view(exc.issue))
    return None


async def _act(ctx: Context, prefix: str, method: str) -> Reply | None:
    await _tapped(ctx)
    try:
        issue_id = id_after(ctx.inbound.event_key, prefix, "问题编号")
    except NumberRefused as exc:
        return _stale(ctx, exc)
    issues = service_for(ctx.services, ctx.session, ctx.now)
    try:
        await getattr(issues, method)(issue_id, ctx.user)
    except IssueRefused as exc:
        return await _refused(ctx, issues, exc)
    return None


@router.button("iss:acc:")
async def accept(ctx: Context) -> Reply | None:
    return await _act(ctx, "iss:acc:", "accept")


@router.button("iss:res:")
async def resolve(ctx: Context) -> Reply | None:
    return await _act(ctx, "iss:res:", "resolve")


@router.button("iss:close:")
async def confirm(ctx: Context) -> Reply | None:
    return await _act(ctx, "iss:close:", "confirm")


@router.button("iss:ret:")
async def send_back(ctx: Context) -> Reply | None:
    return await _act(ctx, "iss:ret:", "send_back")


@router.button("iss:rej:")
async def reject(ctx: Context) -> Reply | None:
    return await _act(ctx, "iss:rej:", "reject")


@router.button("iss:view:")
async def refresh(ctx: Context) -> Reply | None:
    """刷新 (and 取消 on a picker): every card of the issue, the tapper's first, shows the issue as it is."""
    await _tapped(ctx)
    try:
        issue_id = id_after(ctx.inbound.event_key, "iss:view:", "问题编号")
    except NumberRefused as exc:
        return _stale(ctx, exc)
    issues = service_for(ctx.services, ctx.session, ctx.now)
    try:
        issue = await issues.get(issue_id)
    except IssueRefused as exc:
        return await _refused(ctx, issues, exc)
    await issue_cards(ctx).follow(await issues.view(issue))
    return None


@router.button("iss:fwd:")
async def pick_owner(ctx: Context) -> Reply | None:
    """转派: the tapper's card becomes a list of people to hand the issue to."""
    tapped = await _tapped(ctx)
    try:
        issue_id = id_after(ctx.inbound.event_key, "iss:fwd:", "问题编号")
    except NumberRefused as exc:
        return _stale(ctx, exc)
    issues = service_for(ctx.services, ctx.session, ctx.now)
    try:
        issue = await issues.get(issue_id)
        if issue.owner_id != ctx.user.id and not may(ctx.user, [settings_of(ctx).pm_role]):
            raise IssueRefused("not_owner_or_pm", issue)
        if issue.status not in ("new", "in_progress"):
            raise IssueRefused(f"status_{issue.status}", issue)
        candidates = await owner_candidates(ctx.session, settings_of(ctx), line_id=issue.line_id,
                                            exclude=[issue.owner_id])
        if not candidates:
            raise IssueRefused("no_candidates", issue)
    except IssueRefused as exc:
        return await _refused(ctx, issues, exc)
    if tapped is None:
        return Reply(replace_button=ctx.render("issues/button_failed.txt.j2"))
    await issue_cards(ctx).show(tapped.key, issue_cards(ctx).reassign_card(await issues.view(issue), candidates))
    return None


@router.button("iss:fwdto:")
async def reassign(ctx: Context) -> Reply | None:
    await _tapped(ctx)
    try:
        issue_id = id_after(ctx.inbound.event_key, "iss:fwdto:", "问题编号")
        picked = parse_id((ctx.inbound.selected.get("owner") or [""])[0], "人员编号")
    except NumberRefused as exc:
        return _stale(ctx, exc)
    issues = service_for(ctx.services, ctx.session, ctx.now)
    try:
        issue = await issues.get(issue_id)
        new_owner = await ctx.session.get(User, picked)
        if new_owner is None or not new_owner.active or not may(new_owner, settings_of(ctx).owner_roles):
            raise IssueRefused("not_candidate", issue)
        await issues.reassign(issue_id, ctx.user, new_owner)
    except IssueRefused as exc:
        return await _refused(ctx, issues, exc)
    return None


@router.button("iss:due:")
async def pick_due(ctx: Context) -> Reply | None:
    """截止日期: the tapper's card offers 今天 / 明天 / 3天 / 7天."""
    tapped = await _tapped(ctx)
    try:
        issue_id = id_after(ctx.inbound.event_key, "iss:due:", "问题编号")
    except NumberRefused as exc:
        return _stale(ctx, exc)
    issues = service_for(ctx.services, ctx.session, ctx.now)
    try:
        issue = await issues.get(issue_id)
        if not may(ctx.user, [settings_of(ctx).pm_role]):
            raise IssueRefused("not_pm", issue)
    except IssueRefused as exc:
        return await _refused(ctx, issues, exc)
    if tapped is None:
        return Reply(replace_button=ctx.render("issues/button_failed.txt.j2"))
    await issue_cards(ctx).show(tapped.key, issue_cards(ctx).due_card(await issues.view(issue)))
    return None


@router.button("iss:dueset:")
async def set_due(ctx: Context) -> Reply | None:
    await _tapped(ctx)
    match = _DUESET.fullmatch(ctx.inbound.event_key or "")
    try:
        if match is None:
            raise NumberRefused("问题编号", (ctx.inbound.event_key or "")[11:], 1, 2_147_483_647)
        issue_id = parse_id(match.group(1), "问题编号")
        days = parse_int(match.group(2), low=0, high=max(DUE_CHOICES), what="天数")
    except NumberRefused as exc:
        return _stale(ctx, exc)
    issues = service_for(ctx.services, ctx.session, ctx.now)
    try:
        await issues.set_due(issue_id, ctx.user, issues.today.fromordinal(issues.today.toordinal() + days))
    except IssueRefused as exc:
        return await _refused(ctx, issues, exc)
    return None


@router.button("iss:machine:")
async def report_for_machine(ctx: Context) -> Reply | None:
    """报告问题 on a machine's card or label page: the next text describes a problem of that machine."""
    try:
        machine_id = id_after(ctx.inbound.event_key, "iss:machine:", "设备编号")
    except NumberRefused as exc:
        return _stale(ctx, exc)
    ctx.send("text", {"content": await start_for_machine(ctx, machine_id)})
    return None
