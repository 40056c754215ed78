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
    lines = [entries[r.name] for r in dispatcher.visible_routes(ctx.user.roles)
             if r.name in entries and _shown_to(entries[r.name], ctx.user.roles)]
    return ctx.reply("help/help.txt.j2", entries=lines, roles=ctx.user.roles)


@router.event("enter_agent")
async def greet(ctx: Context) -> Reply:
    return ctx.reply("help/welcome.txt.j2")


def _shown_to(entry: dict[str, object], roles: list[str]) -> bool:
    """A help line may name the roles it is for, where the route itself is open and its service decides."""
    wanted = entry.get("roles")
    return not isinstance(wanted, list) or "admin" in roles or bool(set(wanted) & set(roles))
