"""Callback benchmark: encrypted callbacks end to end (decrypt, de-duplicate, route, persist, encrypted reply)
against the decrypt-and-parse-only rate measured in the same process, plus latency at a fixed rate.

    .venv/bin/python -m bench.callbacks [--database URL] [--total 15000] [--rate 500] [--seconds 10]

The load comes from a separate process with bodies encrypted beforehand, so the bot's process measures
only the bot; both share this 2-core machine, as they would in a small deployment.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import tempfile
import time
from pathlib import Path

from aiohttp import web

CORP, AGENT, TOKEN = "wwsandbox0000000001", 1000002, "sandboxtoken"
AES_KEY = "b3BzYm90LWRlbW8tYWVzLWtleS0zMi1ieXRlcy1vayE"


def make_bodies(n: int, offset: int, users: int) -> list[tuple[str, bytes]]:
    """Signed callback requests (query string, body) as WeCom would post them: one text message each."""
    from integrations.wecom.crypto import CallbackCrypto
    from integrations.wecom.messages import inbound_text_xml

    crypto = CallbackCrypto(TOKEN, AES_KEY, CORP)
    now = int(time.time())
    out = []
    for i in range(offset, offset + n):
        inner = inbound_text_xml(CORP, f"u{i % users:05d}", AGENT, "帮助", str(10**12 + i), now)
        encrypted = crypto.encrypt(inner)
        nonce = f"n{i}"
        sig = crypto.sign(str(now), nonce, encrypted)
        body = (f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><AgentID>{AGENT}</AgentID>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>").encode()
        out.append((f"msg_signature={sig}&timestamp={now}&nonce={nonce}", body))
    return out


async def _drive(url: str, bodies: list[tuple[str, bytes]], concurrency: int, rate: float) -> dict:
    """Closed loop (rate 0): `concurrency` requests always in flight. Open loop: one request every 1/rate s,
    latency counted from when it was due, so a slow server cannot hide its queueing (no coordinated omission)."""
    import aiohttp

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[tuple[float, str, bytes] | None] = asyncio.Queue()
    start = time.perf_counter()

    async def worker(http: aiohttp.ClientSession) -> None:
        while (item := await queue.get()) is not None:
            due, qs, body = item
            began = due if rate else time.perf_counter()
            async with http.post(f"{url}?{qs}", data=body) as resp:
                await resp.read()
                statuses[resp.status] = statuses.get(resp.status, 0) + 1
            latencies.append(time.perf_counter() - began)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        workers = [asyncio.create_task(worker(http)) for _ in range(concurrency)]
        for i, (qs, body) in enumerate(bodies):
            due = start + i / rate if rate else 0.0
            if rate and (delay := due - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            queue.put_nowait((due, qs, body))
        for _ in workers:
            queue.put_nowait(None)
        await asyncio.gather(*workers)
    return {"elapsed": time.perf_counter() - start, "latencies": latencies, "statuses": statuses}


def _load_process(url: str, n: int, offset: int, users: int, concurrency: int, rate: float, out: mp.Queue) -> None:
    bodies = make_bodies(n, offset, users)
    out.put(asyncio.run(_drive(url, bodies, concurrency, rate)))


def run_load(url: str, n: int, offset: int, users: int, concurrency: int, rate: float) -> dict:
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    proc = ctx.Process(target=_load_process, args=(url, n, offset, users, concurrency, rate, out))
    proc.start()
    result = out.get()
    proc.join()
    return result


def baseline_rate(n: int) -> float:
    """Decrypt and parse only: the floor every callback pays before any of our work."""
    from urllib.parse import parse_qs

    from integrations.wecom.crypto import CallbackCrypto
    from integrations.wecom.messages import parse_inbound

    crypto = CallbackCrypto(TOKEN, AES_KEY, CORP)
    bodies = make_bodies(n, 0, 1000)
    start = time.perf_counter()
    for qs, body in bodies:
        q = {k: v[0] for k, v in parse_qs(qs).items()}
        parse_inbound(crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"]))
    return n / (time.perf_counter() - start)


async def start_bot(database: str, users: int) -> tuple[web.AppRunner, str]:
    import bot.models  # noqa: F401
    from bot.db import Base
    from bot.models import User
    from opsbot.app import SERVICES, create_app
    from tests.conftest import make_settings

    settings = make_settings(database)
    app = create_app(settings, run_scheduler=False)
    engine = app[SERVICES].engine
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    async with app[SERVICES].sessions.begin() as session:
        session.add_all(User(wecom_userid=f"u{i:05d}", name=f"用户{i}", roles=["operator"]) for i in range(users))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/wecom/callback"


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else float("nan")


async def main_async(args: argparse.Namespace) -> None:
    base = baseline_rate(3000)
    tmp = tempfile.mkdtemp()
    database = args.database or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
    runner, url = await start_bot(database, args.users)
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, run_load, url, 500, 10**8, args.users, 32, 0)  # warm-up
        sustained = await loop.run_in_executor(None, run_load, url, args.total, 0, args.users, 64, 0)
        fixed = await loop.run_in_executor(
            None, run_load, url, int(args.rate * args.seconds), 5 * 10**7, args.users, 256, args.rate)
    finally:
        await runner.cleanup()
    rate = args.total / sustained["elapsed"]
    print(f"database: {database.split('://')[0]}")
    print(f"decrypt+parse only (baseline, same process): {base:,.0f}/s")
    print(f"end to end, closed loop, 64 in flight:        {rate:,.0f} callbacks/s "
          f"= {rate / base:.2f}x of baseline; statuses {sustained['statuses']}")
    lat = fixed["latencies"]
    print(f"fixed rate {args.rate}/s for {args.seconds}s: p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms, "
          f"max {max(lat) * 1000:.1f} ms; statuses {fixed['statuses']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--total", type=int, default=15000)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=10)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
