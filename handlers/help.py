"""帮助: tells a user what their roles let them do, built from the routes they may reach; 菜单: what the app's
menu offers (members who never opened it, or whose client hides it, learn the words it stands for)."""
from __future__ import annotations

import logging
from collections import OrderedDict
from weakref import WeakKeyDictionary

from bot.context import Context, Reply
from bot.menu import MenuFileError, load_menu
from bot.models import User
from bot.people import may
from bot.router import Router
from bot.templates import Templates

router = Router("help")
log = logging.getLogger(__name__)
REPLY_BYTES = 2000  # WeCom cuts a text message beyond 2048 bytes


HelpKey = tuple[str, tuple[str, ...], bool]
# One cache per app (its templates): weak, so an app that is gone takes its answers with it.
_rendered: WeakKeyDictionary[Templates, OrderedDict[HelpKey, list[str]]] = WeakKeyDictionary()
RENDERED_MAX = 4096  # distinct (name, roles) pairs kept; a plant has hundreds of members


@router.command("帮助", "help", "?", "？")
async def show_help(ctx: Context) -> Reply:
    first, *more = help_pages(ctx)
    for page in more:  # an admin's list outgrows one message: the rest follows right after the reply
        ctx.send("text", {"content": page})
    return Reply(text=first)


def help_pages(ctx: Context) -> list[str]:
    """The answer depends only on the member's name, roles and seed flag, and routes and help lines do not
    change while the process runs: rendered once per member, since 帮助 is the most frequent message there is."""
    user = ctx.user
    rendered = _rendered.setdefault(ctx.services.templates, OrderedDict())
    key = (user.name or user.wecom_userid, tuple(sorted(user.roles)), bool(user.is_seed))
    cached = rendered.get(key)
    if cached is None:
        dispatcher = ctx.services.dispatcher
        assert dispatcher is not None
        entries = ctx.services.templates.help_entries
        lines = [entries[r.name] for r in dispatcher.visible_routes(user)
                 if r.name in entries and _shown_to(entries[r.name], user)]
        cached = rendered[key] = pages(ctx.render("help/help.txt.j2", entries=lines, roles=user.roles))
        while len(rendered) > RENDERED_MAX:
            rendered.popitem(last=False)
    return list(cached)


def pages(text: str, limit: int = REPLY_BYTES) -> list[str]:
    """Whole lines per message, each within `limit` bytes: WeCom would cut one long text mid-line and the
    commands at its end would be lost."""
    if len(text.encode()) <= limit:  # the usual case: one message
        return [text]
    result: list[str] = []
    page: list[str] = []
    size = 0
    for line in text.splitlines():
        length = len(line.encode())
        if page and size + 1 + length > limit:
            result.append("\n".join(page))
            page, size = [], 0
        size += length + (1 if page else 0)
        page.append(line)
    return [*result, "\n".join(page)]


@router.command("菜单", "menu")
async def show_menu(ctx: Context) -> Reply:
    """Read from the same file `opsbot wecom menu` installs, so the answer and the phone's menu agree."""
    path = ctx.services.templates.content_dir / "wecom" / "menu.toml"
    try:
        buttons = load_menu(path, ctx.settings.server.base_url)["button"]
    except MenuFileError as exc:
        log.warning("菜单: %s", exc)
        buttons = []
    return ctx.reply("help/menu.txt.j2", buttons=buttons)


@router.event("enter_agent")
async def greet(ctx: Context) -> Reply:
    return ctx.reply("help/welcome.txt.j2")


def _shown_to(entry: dict[str, object], user: User) -> bool:
    """A help line may name the roles it is for, where the route itself is open and its service decides."""
    wanted = entry.get("roles")
    return not isinstance(wanted, list) or may(user, wanted)
