"""`opsbot wecom menu`: install the app's custom menu from content/wecom/menu.toml through menu/create."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.menu import MenuFileError, load_menu
from bot.settings import load_settings
from bot.templates import CONTENT_DIR

MENU_FILE = CONTENT_DIR / "wecom" / "menu.toml"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    wecom = sub.add_parser("wecom", help="WeCom app settings made through the API")
    wecom_sub = wecom.add_subparsers(dest="wecom_command", required=True)
    menu = wecom_sub.add_parser("menu", help="install the app menu (扫码报工, 我的, 更多…) from the menu file")
    menu.add_argument("--file", type=Path, default=MENU_FILE, help=f"menu file (default {MENU_FILE})")
    menu.add_argument("--dry-run", action="store_true", help="check and print the menu, send nothing")
    menu.set_defaults(func=run_menu)


async def run_menu(args: argparse.Namespace) -> int:
    import aiohttp

    from integrations.wecom.client import WeComClient
    from integrations.wecom.errors import WeComError
    from integrations.wecom.menu import MenuError, validate_menu

    settings = load_settings(args.config, needs={"wecom"})
    try:
        menu = load_menu(args.file, settings.server.base_url)
        validate_menu(menu)
    except (MenuFileError, MenuError) as exc:
        print(f"error: menu: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(json.dumps(menu, ensure_ascii=False, indent=2))
        return 0
    wecom = settings.wecom
    async with aiohttp.ClientSession() as http:
        client = WeComClient(http, corp_id=wecom.corp_id, secret=wecom.secret, agent_id=wecom.agent_id,
                             api_base=wecom.api_base, oauth_base=wecom.oauth_base)
        try:
            await client.create_menu(menu)
        except WeComError as exc:
            print(f"error: WeCom refused the menu: errcode {exc.errcode} {exc.errmsg}", file=sys.stderr)
            return 1
    names = " | ".join(b["name"] for b in menu["button"])
    print(f"menu installed for agent {wecom.agent_id}: {names} (members see it the next time they open the app)")
    return 0
