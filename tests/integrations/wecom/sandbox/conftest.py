"""Fixtures for sandbox tests: a started sandbox with a small directory and an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from integrations.wecom.sandbox import Sandbox, SandboxConfig

USERS = {"zhangsan": "张三", "lisi": "李四", "wangwu": "王五"}


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    box = Sandbox(SandboxConfig(users=dict(USERS), callback_timeout_s=0.3))
    await box.start()
    try:
        yield box
    finally:
        await box.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


class Api:
    """Plain HTTP calls the way the bot's client would make them."""

    def __init__(self, sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
        self.sandbox, self.http = sandbox, http
        self.token = ""

    async def get(self, path: str, **params: Any) -> dict:
        async with self.http.get(self.sandbox.base_url + path, params=params) as response:
            assert response.status == 200
            return await response.json()

    async def post(self, path: str, body: Any, **params: Any) -> dict:
        async with self.http.post(self.sandbox.base_url + path, params=params, json=body) as response:
            assert response.status == 200
            return await response.json()

    async def fresh_token(self) -> str:
        config = self.sandbox.config
        answer = await self.get("/cgi-bin/gettoken", corpid=config.corp_id, corpsecret=config.secret)
        assert answer["errcode"] == 0, answer
        self.token = answer["access_token"]
        return self.token

    async def send(self, msgtype: str, payload: Any, touser: str = "zhangsan", **extra: Any) -> dict:
        body = {
            "touser": touser,
            "msgtype": msgtype,
            "agentid": self.sandbox.config.agent_id,
            msgtype: payload,
            **extra,
        }
        return await self.post("/cgi-bin/message/send", body, access_token=self.token)


@pytest.fixture
async def api(sandbox: Sandbox, http: aiohttp.ClientSession) -> Api:
    client = Api(sandbox, http)
    await client.fresh_token()
    return client


def button_card(task_id: str, keys: tuple[str, ...] = ("ok", "no")) -> dict:
    return {
        "card_type": "button_interaction",
        "main_title": {"title": "设备报警", "desc": "注塑机 3 号"},
        "task_id": task_id,
        "button_list": [{"text": key, "style": 1, "key": key} for key in keys],
    }
