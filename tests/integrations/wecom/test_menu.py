"""The app menu: WeCom's menu/create rules, the sandbox answering as WeCom, the client and the CLI."""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.menu import MenuFileError, build_menu, load_menu
from integrations.wecom.client import WeComClient
from integrations.wecom.errors import WeComError
from integrations.wecom.menu import MenuError, validate_menu
from integrations.wecom.sandbox import Sandbox, SandboxConfig
from opsbot.cli.wecom import MENU_FILE
from tests.conftest import DEMO_AES_KEY

CLICK = {"type": "click", "name": "帮助", "key": "say:帮助"}


@pytest.mark.parametrize(("menu", "errcode"), [
    ({"button": []}, 40016),
    ({"button": [CLICK] * 4}, 40016),
    ({"button": [{"name": "我的", "sub_button": [CLICK] * 6}]}, 40023),
    ({"button": [{**CLICK, "name": "六个汉字名称"}]}, 40018),  # 18 bytes > 16
    ({"button": [{"name": "我的", "sub_button": [{**CLICK, "name": "一" * 14}]}]}, 40025),  # 42 bytes > 40
    ({"button": [{**CLICK, "key": "k" * 129}]}, 40019),
    ({"button": [{"type": "swipe", "name": "x"}]}, 40017),
    ({"button": [{"type": "view", "name": "x", "url": "javascript:alert(1)"}]}, 40055),
])
def test_menus_wecom_refuses(menu: dict[str, Any], errcode: int) -> None:
    with pytest.raises(MenuError) as caught:
        validate_menu(menu)
    assert caught.value.errcode == errcode


def test_the_shipped_menu_fits_wecom_and_say_buttons_carry_their_words() -> None:
    menu = load_menu(MENU_FILE, "https://ops.example.com")
    validate_menu(menu)
    top = [b["name"] for b in menu["button"]]
    assert top == ["扫码报工", "我的", "更多"]
    assert menu["button"][0] == {"type": "scancode_waitmsg", "name": "扫码报工", "key": "scan"}
    subs = {s["name"]: s for b in menu["button"] for s in b.get("sub_button", [])}
    assert subs["我的报工"]["key"] == "say:我的报工"
    page = build_menu({"button": [{"name": "报工表", "url": "/h5/report"}]}, "https://ops.example.com/")
    assert page["button"][0]["url"] == "https://ops.example.com/h5/report"
    with pytest.raises(MenuFileError, match="exactly one"):
        build_menu({"button": [{"name": "两个", "say": "帮助", "scan": "scan"}]}, "")


@pytest.fixture
async def sandbox() -> Any:
    box = Sandbox(SandboxConfig(encoding_aes_key=DEMO_AES_KEY))
    await box.start()
    yield box
    await box.stop()


async def test_the_client_installs_the_menu_and_the_sandbox_refuses_a_bad_one(sandbox: Sandbox) -> None:
    config = sandbox.config
    async with aiohttp.ClientSession() as http:
        client = WeComClient(http, corp_id=config.corp_id, secret=config.secret, agent_id=config.agent_id,
                             api_base=sandbox.base_url)
        menu = load_menu(MENU_FILE, "http://127.0.0.1:8080")
        await client.create_menu(menu)
        assert sandbox.state.menu == menu
        assert (await client.get_menu())["button"] == menu["button"]
        with pytest.raises(WeComError) as caught:
            await client.create_menu({"button": [CLICK] * 4})
        assert caught.value.errcode == 40016
        assert sandbox.state.menu == menu  # a refused menu changes nothing


async def test_opsbot_wecom_menu_installs_it_through_the_api(sandbox: Sandbox, tmp_path: Path) -> None:
    config = sandbox.config
    file = tmp_path / "opsbot.toml"
    file.write_text(f'[wecom]\ncorp_id = "{config.corp_id}"\nagent_id = {config.agent_id}\n'
                    f'secret = "{config.secret}"\ntoken = "{config.token}"\nencoding_aes_key = "{DEMO_AES_KEY}"\n'
                    f'api_base = "{sandbox.base_url}"\noauth_base = "{sandbox.base_url}"\n', encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "opsbot.cli", "wecom", "menu", "--config", str(file),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    assert "扫码报工 | 我的 | 更多" in out.decode()
    assert sandbox.state.menu is not None and len(sandbox.state.menu["button"]) == 3
    bad = tmp_path / "bad.toml"
    bad.write_text('[[button]]\nname = "这个名字太长了啊"\nsay = "帮助"\n', encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "opsbot.cli", "wecom", "menu", "--config", str(file), "--file", str(bad),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 2 and "16 bytes" in err.decode() and b"Traceback" not in err
