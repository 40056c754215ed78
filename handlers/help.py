"""帮助: tells a user what their roles let them do, built from the routes they may reach."""
from __future__ import annotations

from bot.context import Context, Reply
from bot.router import Router

router = Router("help")


@router.command("帮助", "help", "?", "？")
async def show_help(ctx: Context) -> Reply:
    dispatcher = ctx.services.dispatcher
    assert dispatcher is not None
    entries = ctx.services.templates.help_entries
    lines = [entries[r.name] for r in dispatcher.visible_routes(ctx.user.roles) if r.name in entries]
    return ctx.reply("help/help.txt.j2", entries=lines, roles=ctx.user.roles)


@router.event("enter_agent")
async def greet(ctx: Context) -> Reply:
    return ctx.reply("help/welcome.txt.j2")
