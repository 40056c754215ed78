"""Benchmark of the issue list at plant scale: the weekly digest and the PMs' H5 list over N issues.

    .venv/bin/python -m bench.issues [--database URL] [--issues 20000] [--pms 20] [--requests 25] [--think 1]

Seeds N issues (bulk insert, a year of history, 20 owners, 6 lines), times `build_digest` (the job's queries)
and the chart, then has `--pms` PMs, each logged in once through the sandbox's WeCom OAuth, fetch list pages
with varying filters (status, owner, line, category, overdue, sort, page) through the real H5 gate: once back to
back (every PM always waiting for a page: the server's saturation throughput, where latency is queueing), once
as people use it (each PM reads a page for `--think` seconds, ±50 %, before the next), and one PM alone (the
page's own cost). The PMs' phones run in a separate process, so the server's loop does only the server's work.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

AES_KEY = "b3BzYm90LWRlbW8tYWVzLWtleS0zMi1ieXRlcy1vayE"
NOW = datetime(2026, 5, 18, 1, 0, tzinfo=UTC)


async def seed(sessions: object, count: int) -> None:
    from sqlalchemy import insert

    from bot.models import Line, Plant, User
    from bot.models.issues import Issue, IssueEvent

    rng = random.Random(1)
    async with sessions.begin() as session:  # type: ignore[attr-defined]
        plant = Plant(code="P", name="基准工厂", timezone="Asia/Shanghai")
        session.add(plant)
        await session.flush()
        lines = [Line(plant_id=plant.id, code=f"L{i}", name=f"{i}线") for i in range(1, 7)]
        session.add_all(lines)
        await session.flush()
        owners = [User(wecom_userid=f"m{i}", name=f"师傅{i}", roles=["maintenance"], line_id=lines[i % 6].id)
                  for i in range(20)]
        pms = [User(wecom_userid=f"pm{i}", name=f"经理{i}", roles=["pm"]) for i in range(20)]
        session.add_all(owners + pms)
        await session.flush()
        rows, events = [], []
        for seq in range(1, count + 1):
            created = NOW - timedelta(minutes=rng.randrange(365 * 24 * 60))
            status = rng.choice(["new", "in_progress", "to_verify", "closed", "closed", "closed", "rejected"])
            closed = created + timedelta(hours=rng.randrange(1, 400)) if status in ("closed", "rejected") else None
            closed = min(closed, NOW) if closed else None
            rows.append({"number": f"Q-2026-{seq:05d}", "year": 2026, "seq": seq, "title": f"问题 {seq}",
                         "description": "", "category": rng.choice(["系统问题", "流程问题", "设备", "质量"]),
                         "priority": rng.choice(["high", "medium", "low"]), "source": "chat", "status": status,
                         "owner_id": rng.choice(owners).id, "line_id": rng.choice(lines).id,
                         "due_on": (created + timedelta(days=rng.randrange(1, 14))).date(), "escalation_level": 0,
                         "created_at": created, "updated_at": closed or created, "closed_at": closed})
        for start in range(0, len(rows), 2000):
            await session.execute(insert(Issue), rows[start:start + 2000])
        for seq in range(1, count + 1):
            events.append({"issue_id": seq, "at": rows[seq - 1]["created_at"], "kind": "created", "new": "new",
                           "note": ""})
        for start in range(0, len(events), 2000):
            await session.execute(insert(IssueEvent), events[start:start + 2000])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def run(database: str | None, count: int, pm_count: int, per_pm: int, think_s: float) -> None:
    from aiohttp import web

    from bot.db import Base, make_engine
    from bot.issues.digest import build_digest, reported_week
    from bot.issues.digest_delivery import chart_labels, render_chart
    from integrations.wecom.sandbox import Sandbox, SandboxConfig
    from opsbot.app import SERVICES, create_app
    from tests.conftest import make_settings

    folder = tempfile.mkdtemp(prefix="bench-issues-")
    url = database or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    await engine.dispose()
    sandbox = Sandbox(SandboxConfig(encoding_aes_key=AES_KEY))
    base = await sandbox.start()
    settings = make_settings(url, api_base=base)
    app = create_app(settings, clock=lambda: NOW, run_sender=False, run_scheduler=False)
    services = app[SERVICES]
    started = time.perf_counter()
    await seed(services.sessions, count)
    print(f"seeded {count} issues in {time.perf_counter() - started:.1f}s ({url.split(':')[0]})")
    for i in range(pm_count):
        sandbox.add_user(f"pm{i}", f"经理{i}")

    calendar = settings.calendar
    timings = []
    for _ in range(5):
        async with services.sessions() as session:
            t0 = time.perf_counter()
            digest = await build_digest(session, calendar, reported_week(calendar, NOW))
            timings.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    png = await asyncio.to_thread(render_chart, digest.trend, chart_labels())
    print(f"digest: median {statistics.median(timings) * 1000:.0f} ms (this week new {digest.this.new}, open "
          f"{digest.this.open}, overdue {digest.this.overdue}); chart {len(png) // 1024} KiB in "
          f"{(time.perf_counter() - t0) * 1000:.0f} ms")

    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    bot_url = f"http://127.0.0.1:{port}"
    settings.server.public_url = bot_url
    sandbox.config.callback_url = f"{bot_url}/wecom/callback"
    closed = await run_clients(bot_url, base, pm_count, per_pm, think_s=0.0)
    paced = await run_clients(bot_url, base, pm_count, per_pm, think_s=think_s)
    for name, (latencies, wall) in (("back to back (saturation)", closed), (f"reading ~{think_s:.1f} s a page", paced)):
        print(f"H5 list, {pm_count} PMs {name}: {len(latencies)} pages in {wall:.1f}s ({len(latencies) / wall:.0f}/s): "
              f"p50 {pct(latencies, 0.5):.0f} ms, p99 {pct(latencies, 0.99):.0f} ms, "
              f"max {max(latencies) * 1000:.0f} ms")
    alone, _ = await run_clients(bot_url, base, 1, per_pm * 2, think_s=0.0)
    print(f"server alone, one page at a time: median {statistics.median(alone) * 1000:.1f} ms")
    await runner.cleanup()
    await sandbox.stop()


QUERIES = ["", "overdue=1", "status=", "sort=new", "status=closed&sort=updated", "category=设备",
           "line=3&sort=priority", "owner=5", "owner=7&overdue=1", "page=40", "status=&page=200"]


def _client_main(bot_url: str, sandbox_url: str, pm_count: int, per_pm: int, think_s: float,
                 out: Any) -> None:
    """The PMs' phones, in their own process, so their work is not billed to the server's event loop."""
    out.send(asyncio.run(_clients(bot_url, sandbox_url, pm_count, per_pm, think_s)))
    out.close()


async def _clients(bot_url: str, sandbox_url: str, pm_count: int, per_pm: int,
                   think_s: float) -> tuple[list[float], float]:
    import aiohttp

    rng = random.Random(2)
    latencies: list[float] = []

    async def pm(i: int) -> None:
        jar = aiohttp.CookieJar(unsafe=True)
        jar.update_cookies({"sandbox_user": f"pm{i}"}, response_url=aiohttp.client.URL(sandbox_url))
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            async with http.get(f"{bot_url}/h5/issues") as response:  # the OAuth round trip, once
                assert response.status == 200, response.status
            await asyncio.sleep(rng.random() * think_s)  # PMs do not all tap at the same instant
            for _ in range(per_pm):
                t0 = time.perf_counter()
                async with http.get(f"{bot_url}/h5/issues?{rng.choice(QUERIES)}") as response:
                    await response.read()
                    assert response.status == 200
                latencies.append(time.perf_counter() - t0)
                if think_s:
                    await asyncio.sleep(think_s * (0.5 + rng.random()))  # reading the page, choosing a filter

    t0 = time.perf_counter()
    await asyncio.gather(*(pm(i) for i in range(pm_count)))
    return latencies, time.perf_counter() - t0


async def run_clients(bot_url: str, sandbox_url: str, pm_count: int, per_pm: int,
                      think_s: float) -> tuple[list[float], float]:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_client_main, args=(bot_url, sandbox_url, pm_count, per_pm, think_s, send))
    process.start()
    send.close()
    result = await asyncio.to_thread(receive.recv)  # this loop keeps serving the pages meanwhile
    await asyncio.to_thread(process.join)
    return result  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="SQLAlchemy async URL (default: a fresh SQLite file)")
    parser.add_argument("--issues", type=int, default=20_000)
    parser.add_argument("--pms", type=int, default=20)
    parser.add_argument("--requests", type=int, default=25, help="list pages per PM")
    parser.add_argument("--think", type=float, default=1.0, help="seconds a PM reads a page before the next")
    args = parser.parse_args()
    asyncio.run(run(args.database, args.issues, args.pms, args.requests, args.think))


if __name__ == "__main__":
    sys.exit(main())
