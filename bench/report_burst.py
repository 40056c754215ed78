"""Burst benchmark for 扫码报工: N distinct users each scan a label and report within a minute, through
encrypted callbacks to `opsbot serve` in its own process (the WeCom sandbox in a third one).

    .venv/bin/python -m bench.report_burst [--database URL] [--users 3000] [--spread 45] [--baseline 300]

Prints p50/p99 latency of the scan reply and of the report confirmation (the passive reply the operator
reads) next to the `帮助` round trip measured in the same run, and checks zero lost / zero duplicated.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

CORP, AGENT, TOKEN, SECRET = "wwsandbox0000000001", 1000002, "sandboxtoken", "sandbox-secret"
AES_KEY = "b3BzYm90LWRlbW8tYWVzLWtleS0zMi1ieXRlcy1vayE"
QR_SECRET = secrets.token_urlsafe(32)  # `opsbot serve` refuses short or published secrets
SESSION_SECRET = secrets.token_urlsafe(32)
LINES = 10
OPSBOT = Path(sys.executable).with_name("opsbot")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def config_text(db_url: str, bot_port: int, sandbox_port: int, cards: bool) -> str:
    api = f"http://127.0.0.1:{sandbox_port}"
    return f"""
[server]
host = "127.0.0.1"
port = {bot_port}
public_url = "http://127.0.0.1:{bot_port}"
session_secret = "{SESSION_SECRET}"
[wecom]
corp_id = "{CORP}"
agent_id = {AGENT}
secret = "{SECRET}"
token = "{TOKEN}"
encoding_aes_key = "{AES_KEY}"
api_base = "{api}"
oauth_base = "{api}"
[database]
url = "{db_url}"
[qr]
secret = "{QR_SECRET}"
[sandbox]
host = "127.0.0.1"
port = {sandbox_port}
[reports]
confirm_card = {"true" if cards else "false"}
"""


async def seed(db_url: str, users: int) -> None:
    """A fresh schema: LINES lines, one released work order each, `users` operators spread over them."""
    import bot.models  # noqa: F401
    from bot.db import Base, make_engine, make_session_factory
    from bot.models import Line, Operation, Plant, User, WorkOrder

    engine = make_engine(db_url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    async with make_session_factory(engine).begin() as s:
        plant = Plant(code="P", name="基准工厂")
        s.add(plant)
        await s.flush()
        lines = [Line(plant_id=plant.id, code=f"L{n:02d}", name=f"{n}号线") for n in range(LINES)]
        s.add_all(lines)
        await s.flush()
        for n, line in enumerate(lines):
            order = WorkOrder(code=f"WO-B{n:02d}", line_id=line.id, quantity=10**7, status="released")
            s.add(order)
            await s.flush()
            s.add(Operation(work_order_id=order.id, seq=10, name="装配", planned_quantity=10**7))
        s.add_all(User(wecom_userid=f"u{i:05d}", name=f"工{i}", roles=["operator"], line_id=lines[i % LINES].id)
                  for i in range(users))
    await engine.dispose()


class Envelopes:
    """Callbacks encrypted and signed before the clock starts, as WeCom would post them."""

    def __init__(self) -> None:
        from integrations.wecom.crypto import CallbackCrypto

        self.crypto = CallbackCrypto(TOKEN, AES_KEY, CORP)
        self.now = int(time.time())
        self.count = 0

    def post(self, inner: str) -> tuple[str, bytes]:
        self.count += 1
        encrypted, nonce = self.crypto.encrypt(inner), f"n{self.count}"
        signature = self.crypto.sign(str(self.now), nonce, encrypted)
        body = (f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><AgentID>{AGENT}</AgentID>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>").encode()
        return f"msg_signature={signature}&timestamp={self.now}&nonce={nonce}", body

    def reply_text(self, body: bytes) -> str:
        from integrations.wecom.messages import parse_reply

        if not body.strip():
            return ""
        root = ET.fromstring(body)
        inner = self.crypto.decrypt_message(body, root.findtext("MsgSignature") or "",
                                            root.findtext("TimeStamp") or "", root.findtext("Nonce") or "")
        return str(parse_reply(inner).get("Content") or "")


def quantities(i: int) -> tuple[int, int, str]:
    """Every third user also reports scrap with the reason number inline (`48 2 1`)."""
    good, scrap = 40 + i % 10, i % 3
    return good, scrap, f"{good} {scrap} 1" if scrap else str(good)


async def drive(url: str, plan: list[list[tuple[str, bytes]]], spread_s: float,
                env: Envelopes) -> tuple[list[list[tuple[float, str]]], float]:
    """Starts user i at i * spread/N seconds; each user's callbacks go one after the other."""
    import aiohttp

    results: list[list[tuple[float, str]]] = [[] for _ in plan]
    start = time.perf_counter()

    async def user(i: int, http: aiohttp.ClientSession) -> None:
        await asyncio.sleep(max(0.0, start + i * spread_s / len(plan) - time.perf_counter()))
        for query, body in plan[i]:
            sent = time.perf_counter()
            async with http.post(f"{url}?{query}", data=body) as response:
                raw = await response.read()
                assert response.status == 200, (response.status, raw[:200])
            results[i].append((time.perf_counter() - sent, raw))  # type: ignore[arg-type]

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as http:
        await asyncio.gather(*(user(i, http) for i in range(len(plan))))
    elapsed = time.perf_counter() - start
    decoded = [[(latency, env.reply_text(raw)) for latency, raw in user_results]  # type: ignore[arg-type]
               for user_results in results]
    return decoded, elapsed


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far: the bot's cost per callback, whatever else loads the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


async def wait_http(url: str, process: asyncio.subprocess.Process, log: Path) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            try:
                async with http.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            if process.returncode is not None:
                raise SystemExit(f"{url} died:\n{log.read_text()[-3000:]}")
            await asyncio.sleep(0.05)
    raise SystemExit(f"{url} did not come up")


async def run(args: argparse.Namespace) -> int:
    from integrations.wecom.messages import inbound_scan_xml, inbound_text_xml

    tmp = Path(tempfile.mkdtemp(prefix="report-burst-"))
    db_url = args.database or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    bot_port, sandbox_port = free_port(), free_port()
    config = tmp / "opsbot.toml"
    config.write_text(config_text(db_url, bot_port, sandbox_port, not args.no_cards), encoding="utf-8")
    await seed(db_url, args.users)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = tmp / "servers.log"
    handle = log.open("ab")
    sandbox = await asyncio.create_subprocess_exec(str(OPSBOT), "--config", str(config), "sandbox",
                                                   stdout=handle, stderr=handle, env=env)
    profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
    bot = await asyncio.create_subprocess_exec(sys.executable, *profile, "-m", "opsbot.cli", "--config", str(config),
                                               "serve", stdout=handle, stderr=handle, env=env)
    try:
        await wait_http(f"http://127.0.0.1:{sandbox_port}/sandbox/users", sandbox, log)
        await wait_http(f"http://127.0.0.1:{bot_port}/healthz", bot, log)
        return await measure(args, db_url, bot_port, inbound_scan_xml, inbound_text_xml, bot.pid)
    finally:
        for process in (bot, sandbox):
            if process.returncode is None:
                process.terminate()
                await process.wait()
        handle.close()


async def measure(args: argparse.Namespace, db_url: str, port: int, scan_xml, text_xml,  # type: ignore
                  bot_pid: int) -> int:
    from bot.qr import QrPayload, QrSigner

    url = f"http://127.0.0.1:{port}/wecom/callback"
    signer = QrSigner(QR_SECRET, f"http://127.0.0.1:{port}")
    env = Envelopes()
    base_users = min(args.baseline, args.users)
    help_plan = [[env.post(text_xml(CORP, f"u{i:05d}", AGENT, "帮助", str(9 * 10**12 + i), env.now))]
                 for i in range(base_users)]
    help_results, _ = await drive(url, help_plan, args.spread * base_users / args.users, env)
    plan = []
    for i in range(args.users):
        label = signer.url(QrPayload("op", (f"WO-B{i % LINES:02d}", "10")))
        userid = f"u{i:05d}"
        plan.append([env.post(scan_xml(CORP, userid, AGENT, label, env.now)),
                     env.post(text_xml(CORP, userid, AGENT, quantities(i)[2], str(10**12 + i), env.now))])
    cpu_before = cpu_seconds(bot_pid)
    results, elapsed = await drive(url, plan, args.spread, env)

    help_lat = [r[0][0] for r in help_results]
    scan_lat = [r[0][0] for r in results]
    report_lat = [r[1][0] for r in results]
    confirmed = {i for i, r in enumerate(results) if "报工成功" in r[1][1]}
    lost, duplicated, wrong = await verify(db_url, args.users, confirmed)
    cards_sent, drain_s = await cards_delivered(db_url, 0 if args.no_cards else args.users)
    cpu = cpu_seconds(bot_pid) - cpu_before
    base50, base99 = pct(help_lat, 50), pct(help_lat, 99)
    print(f"database: {db_url.split('://')[0]}   users: {args.users}   spread: {args.spread:.0f} s")
    print(f"baseline '帮助' round trip     n={len(help_lat):5d}  p50 {base50:7.1f} ms  p99 {base99:7.1f} ms")
    for name, values in (("scan reply", scan_lat), ("report confirmation", report_lat)):
        p50, p99 = pct(values, 50), pct(values, 99)
        print(f"{name:27s} n={len(values):5d}  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms   "
              f"({p50 / base50:4.2f}x / {p99 / base99:4.2f}x baseline)   mean {statistics.mean(values) * 1000:.1f} ms")
    print(f"burst: {args.users} users scanned and reported in {elapsed:.1f} s "
          f"({2 * args.users / elapsed:.0f} callbacks/s); confirmed {len(confirmed)}, "
          f"lost {lost}, duplicated {duplicated}, wrong quantities {wrong}")
    print(f"confirmation cards delivered by the outbox: {cards_sent}/{args.users} "
          f"({drain_s:.1f} s after the last confirmation)")
    print(f"bot CPU for the burst and its cards: {cpu:.1f} s ({cpu * 1000 / (2 * args.users):.2f} ms per callback; "
          f"load average before the run {os.getloadavg()[0]:.1f})")
    ok = (lost == duplicated == wrong == 0 and len(confirmed) == args.users and elapsed <= 60
          and pct(report_lat, 99) < 200)
    print("target (all confirmed, 0 lost, 0 duplicated, <= 60 s, p99 < 200 ms):", "MET" if ok else "NOT MET")
    return 0 if ok else 1


async def verify(db_url: str, users: int, confirmed: set[int]) -> tuple[int, int, int]:
    from sqlalchemy import select

    from bot.db import make_engine, make_session_factory
    from bot.models import User
    from bot.models.reports import WorkReport

    engine = make_engine(db_url)
    async with make_session_factory(engine)() as s:
        rows = (await s.execute(select(User.wecom_userid, WorkReport.good, WorkReport.scrap)
                                .join(User, User.id == WorkReport.user_id))).all()
    await engine.dispose()
    per_user: dict[int, list[tuple[int, int]]] = {}
    for userid, good, scrap in rows:
        per_user.setdefault(int(userid[1:]), []).append((good, scrap))
    lost = sum(1 for i in confirmed if i not in per_user) + (users - len(confirmed))
    duplicated = sum(len(v) - 1 for v in per_user.values())
    wrong = sum(1 for i, v in per_user.items() if v[0] != quantities(i)[:2])
    return lost, duplicated, wrong


async def cards_delivered(db_url: str, users: int, timeout_s: float = 30.0) -> tuple[int, float]:
    from sqlalchemy import func, select

    from bot.db import make_engine, make_session_factory
    from bot.models import OutboxMessage

    engine = make_engine(db_url)
    started = time.perf_counter()
    sent = 0
    while time.perf_counter() - started < timeout_s:
        async with make_session_factory(engine)() as s:
            sent = int(await s.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.msgtype == "template_card", OutboxMessage.status == "sent")) or 0)
        if sent >= users:
            break
        await asyncio.sleep(0.2)
    await engine.dispose()
    return sent, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="default: a fresh SQLite file (PostgreSQL: its schema is reset!)")
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--spread", type=float, default=45.0, help="seconds over which users arrive")
    parser.add_argument("--no-cards", action="store_true", help="skip the confirmation cards (outbox idle)")
    parser.add_argument("--profile", help="run the bot under cProfile and write its stats to this file")
    parser.add_argument("--baseline", type=int, default=300, help="users sending 帮助 first, for the baseline")
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
