"""Kill test: a burst of chat reports while the bot process is SIGKILLed and restarted. Every report a user
saw confirmed is stored exactly once, WeCom's retries of the same callback never add a second one, and no
message (the confirmation cards in flight when the kill came included) is delivered twice."""
from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import socket
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import Line, Operation, OutboxMessage, Plant, User, WorkOrder
from bot.models.reports import WorkReport
from bot.qr import QrPayload, QrSigner
from integrations.wecom import messages
from integrations.wecom.sandbox import Sandbox, SandboxConfig
from tests.conftest import DEMO_AES_KEY, eventually

pytestmark = [pytest.mark.slow, pytest.mark.db]
USERS, ROUNDS, KILL_AFTER = 30, 6, 40
QR_SECRET = secrets.token_urlsafe(32)  # `opsbot serve` refuses short or published secrets
SESSION_SECRET = secrets.token_urlsafe(32)
OPSBOT = Path(sys.executable).with_name("opsbot")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as s:
        plant = Plant(code="P", name="厂")
        s.add(plant)
        await s.flush()
        line = Line(plant_id=plant.id, code="L1", name="一号线")
        s.add(line)
        await s.flush()
        order = WorkOrder(code="WO-K", line_id=line.id, quantity=10**6, status="released")
        s.add(order)
        await s.flush()
        s.add(Operation(work_order_id=order.id, seq=10, name="装配", planned_quantity=10**6))
        s.add_all(User(wecom_userid=f"u{n:03d}", name=f"工{n}", roles=["operator"], line_id=line.id)
                  for n in range(USERS))


class Bot:
    """`opsbot serve` as a child process that the test may kill at any instant."""

    def __init__(self, config: Path, port: int, log: Path) -> None:
        self.config, self.port, self.log = config, port, log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                str(OPSBOT), "--config", str(self.config), "serve", stdout=log, stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                assert self.process.returncode is None, self.log.read_text()[-3000:]
                await asyncio.sleep(0.05)
        raise AssertionError("bot did not start")

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


async def test_sigkill_mid_burst_loses_and_duplicates_nothing(tmp_path: Path, db_url: str,
                                                              session_factory) -> None:
    await seed(session_factory)
    port = free_port()
    sandbox = Sandbox(SandboxConfig(encoding_aes_key=DEMO_AES_KEY, callback_timeout_s=5.0,
                                    callback_url=f"http://127.0.0.1:{port}/wecom/callback",
                                    users={f"u{n:03d}": f"工{n}" for n in range(USERS)}))
    api = await sandbox.start()
    config = tmp_path / "opsbot.toml"
    config.write_text(f"""
[server]
host = "127.0.0.1"
port = {port}
public_url = "http://127.0.0.1:{port}"
session_secret = "{SESSION_SECRET}"
[wecom]
corp_id = "{sandbox.config.corp_id}"
agent_id = {sandbox.config.agent_id}
secret = "{sandbox.config.secret}"
token = "{sandbox.config.token}"
encoding_aes_key = "{DEMO_AES_KEY}"
api_base = "{api}"
oauth_base = "{api}"
[database]
url = "{db_url}"
[qr]
secret = "{QR_SECRET}"
[reports]
confirm_card = true
[outbox]
lease_s = 3.0
""", encoding="utf-8")
    bot = Bot(config, port, tmp_path / "bot.log")
    url = QrSigner(QR_SECRET, f"http://127.0.0.1:{port}").url(QrPayload("op", ("WO-K", "10")))
    confirmed: dict[int, int] = {}  # good quantity (unique per attempt) -> report number the user saw
    up = asyncio.Event()
    killed = asyncio.Event()
    refused = [0]  # callbacks that got no answer at all: the kill hit them

    async def until_ok(send) -> dict | None:  # type: ignore[no-untyped-def]
        """Sends, and resends the very same callback (as WeCom retries) until the bot answers."""
        for _ in range(200):
            result = await send()
            if result.status == 200:
                return result.reply
            refused[0] += 1
            await up.wait()
        raise AssertionError("bot never answered")

    async def user(n: int) -> None:
        userid = f"u{n:03d}"
        for round_ in range(ROUNDS):
            good = n * 100 + round_ + 1
            await until_ok(lambda key=f"scan{round_}": sandbox.scan(userid, url, key=key))
            xml = messages.inbound_text_xml(sandbox.config.corp_id, userid, sandbox.config.agent_id, str(good),
                                            str(10**12 + good), int(time.time()))
            reply = await until_ok(lambda xml=xml: sandbox.post_raw(xml))
            match = re.search(r"报工成功：编号 (\d+)", (reply or {}).get("Content", ""))
            if match:
                confirmed[good] = int(match.group(1))
            if len(confirmed) >= KILL_AFTER and not killed.is_set():
                killed.set()

    async def chaos() -> None:
        await killed.wait()
        up.clear()
        await bot.kill()
        await bot.start()
        up.set()

    try:
        await bot.start()
        up.set()
        await asyncio.wait_for(asyncio.gather(chaos(), *(user(n) for n in range(USERS))), timeout=120)
        await eventually(lambda: outbox_drained(session_factory), timeout=30)  # leases left by the kill expire
    finally:
        await bot.stop()
        await sandbox.stop()
    async with session_factory() as s:
        stored = (await s.execute(select(WorkReport.good, WorkReport.id))).all()
    goods = [good for good, _ in stored]
    assert len(goods) == len(set(goods)), "a retried callback created a second report"
    by_good = dict(stored)
    assert {good: by_good.get(good) for good in confirmed} == confirmed  # every confirmation is stored
    assert len(confirmed) == USERS * ROUNDS  # every user got through in the end (retries after the restart)
    assert killed.is_set() and refused[0] > 0
    delivered = Counter((m.api, "|".join(m.touser), m.msgtype, json.dumps(m.payload, sort_keys=True))
                        for m in sandbox.messages if m.api != "passive_reply")
    assert [key for key, times in delivered.items() if times > 1] == [], "a message was delivered twice"
    assert sum(1 for m in sandbox.messages if m.msgtype == "template_card") == len(confirmed)


async def outbox_drained(sessions: async_sessionmaker[AsyncSession]) -> bool:
    async with sessions() as s:
        return not (await s.scalars(select(OutboxMessage.id).where(
            OutboxMessage.status.in_(["pending", "sending"])).limit(1))).first()
