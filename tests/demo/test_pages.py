"""The demo's public pages on the bot: printable labels, docs, and the feeds the phone simulator reads."""
from __future__ import annotations

import aiohttp
import pytest

from tests.demo.conftest import DemoStack

pytestmark = pytest.mark.db


async def get(url: str) -> tuple[int, str, dict[str, str]]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, (await response.read()).decode("utf-8", "replace"), dict(response.headers)


async def test_labels_feed_lists_signed_operation_and_machine_labels(demo_stack: DemoStack) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{demo_stack.bot_url}/demo/api/labels") as response:
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        labels = await response.json()
    assert [label["kind"] for label in labels].count("op") == 25
    assert [label["ids"] for label in labels if label["kind"] == "machine"][0] == ["L1-M1"]
    first = labels[0]
    assert first["title"] == "工单 WO-1001 · 工序 10 粗车"
    payload = demo_stack.services.qr.verify(first["url"])
    assert (payload.kind, payload.ids) == ("op", ("WO-1001", "10"))
    assert first["url"].startswith(f"{demo_stack.bot_url}/h5/q/")


async def test_label_sheet_prints_every_label(demo_stack: DemoStack) -> None:
    status, html, _ = await get(f"{demo_stack.bot_url}/labels")
    assert status == 200
    assert html.count('class="qr"') == 31 + 3  # operations and machines, then the 5S patrol's checkpoints
    assert "示范工厂 · 工序与设备二维码标签" in html
    assert "设备 L2-M3 总成终检台" in html


async def test_directory_feed_names_roles_in_chinese(demo_stack: DemoStack) -> None:
    async with aiohttp.ClientSession() as http, \
            http.get(f"{demo_stack.bot_url}/demo/api/directory") as response:
        people = {person["userid"]: person for person in await response.json()}
    assert len(people) == 20
    assert people["zhaolei"]["roles_text"] == "班组长" and people["zhaolei"]["line"] == "机加线"
    assert people["zhaolei"]["is_seed"] is True
    assert people["linfeng"]["roles_text"] == "经理、项目经理"


async def test_docs_render_and_refuse_other_paths(demo_stack: DemoStack) -> None:
    status, html, _ = await get(f"{demo_stack.bot_url}/docs/quickstart")
    assert status == 200 and "<h1" in html and 'src="/docs/img/' in html
    status, _, _ = await get(f"{demo_stack.bot_url}/docs/..%2Fpyproject")
    assert status == 404
    status, _, headers = await get(f"{demo_stack.bot_url}/docs/img/phone-help.png")
    assert status == 200 and headers["Content-Type"] == "image/png"


async def test_landing_page_links_the_phone_simulator(demo_stack: DemoStack) -> None:
    demo_stack.services.sandbox_url = demo_stack.phone_url.removesuffix("/phone")
    status, html, _ = await get(f"{demo_stack.bot_url}/")
    assert status == 200
    assert f'href="{demo_stack.phone_url}"' in html
    assert 'href="/labels"' in html and 'href="/docs/quickstart"' in html
