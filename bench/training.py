"""Shift start for training: N operators open their training page within a minute while every open page sends a
heartbeat every 5 s; then video bytes through the bot (H5 gate + Range) against a bare aiohttp FileResponse of
the same file, in the same server process and run.

    .venv/bin/python -m bench.training [--database URL] [--users 1000] [--spread 60] [--beats 4]

The bot runs in a child process (create_app, no sender/scheduler), the load in this one. Session cookies are
minted with the H5 gate's own serializer (what WeCom OAuth would end in), so the figures are the page and the
heartbeat, not the sandbox's login page. Targets (issue 14): heartbeat p99 < 50 ms on SQLite and PostgreSQL, and
video bytes at >= 80 % of the bare FileResponse."""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import re
import secrets
import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

SESSION_SECRET = secrets.token_urlsafe(32)
QR_SECRET = secrets.token_urlsafe(32)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_dict(db_url: str, port: int, media: Path) -> dict[str, Any]:
    return {"plant": {"name": "压测工厂", "timezone": "Asia/Shanghai"},
            "server": {"host": "127.0.0.1", "port": port, "public_url": f"http://127.0.0.1:{port}",
                       "session_secret": SESSION_SECRET},
            "wecom": {"corp_id": "wwsandbox0000000001", "agent_id": 1000002, "secret": "s", "token": "t",
                      "encoding_aes_key": "b3BzYm90LWRlbW8tYWVzLWtleS0zMi1ieXRlcy1vayE",
                      "api_base": "http://127.0.0.1:9", "oauth_base": "http://127.0.0.1:9"},
            "database": {"url": db_url}, "qr": {"secret": QR_SECRET},
            "training": {"media_dir": str(media)}}


def serve(data: dict[str, Any], bare_port: int, ready: Any) -> None:
    from aiohttp import web

    from bot.settings import settings_from_dict
    from opsbot.app import create_app

    async def main() -> None:
        app = create_app(settings_from_dict(data), run_sender=False, run_scheduler=False)
        bare = web.Application()
        video = Path(data["training"]["media_dir"]) / "safety.mp4"
        bare.router.add_get("/video", lambda _r: web.FileResponse(video))
        runners = [web.AppRunner(app, access_log=None), web.AppRunner(bare, access_log=None)]
        for runner, port in zip(runners, (data["server"]["port"], bare_port), strict=True):
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


async def prepare(data: dict[str, Any], users: int) -> None:
    from bot.db import Base, make_engine, make_session_factory, utcnow
    from bot.models import Line, Plant, User
    from bot.settings import settings_from_dict
    from bot.training.catalog import load_catalog
    from bot.training.versions import current_versions

    settings = settings_from_dict(data)
    engine = make_engine(settings.database.url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    sessions = make_session_factory(engine)
    async with sessions.begin() as session:
        plant = Plant(code="P", name="P")
        session.add(plant)
        await session.flush()
        line = Line(plant_id=plant.id, code="L1", name="L1")
        session.add(line)
        await session.flush()
        session.add_all([User(wecom_userid=f"op{n}", name=f"op{n}", roles=["operator"], line_id=line.id)
                         for n in range(users)])
        training = settings.feature("training")
        for version in (await current_versions(session, load_catalog(training.catalog_path, training.media_path),
                                               utcnow())).values():
            version.released_at = utcnow()
    await engine.dispose()


def cookie(userid: str) -> str:
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(SESSION_SECRET, salt="h5").dumps(userid)


async def operator(http: Any, base: str, n: int, delay: float, beats: int, every: float,
                   opened: list[float], beat_ms: list[float], videos: list[str]) -> None:
    await asyncio.sleep(delay)
    headers = {"Cookie": f"opsbot_h5={cookie(f'op{n}')}", "Origin": base}
    start = time.perf_counter()
    async with http.get(f"{base}/h5/training/SAFE-01", headers=headers) as response:
        html = await response.text()
    opened.append((time.perf_counter() - start) * 1000)
    key = re.search(r'var BEAT = "([^"]+)"', html).group(1)  # type: ignore[union-attr]
    videos.append(re.search(r'<video id="video" src="([^"]+)"', html).group(1).replace("&amp;", "&"))  # type: ignore
    for k in range(beats):
        await asyncio.sleep(every)
        start = time.perf_counter()
        async with http.post(f"{base}/h5/training/beat", headers=headers,
                             json={"key": key, "position": f"{min(6.0, k * every):.3f}"}) as response:
            assert response.status == 200, await response.text()
        beat_ms.append((time.perf_counter() - start) * 1000)


async def throughput(http: Any, url: str, headers: dict[str, str], size: int, seconds: float) -> float:
    """MB/s with 8 clients fetching random 64 KB ranges, as players seeking around a clip do."""
    done, deadline = 0, time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            start = random.randrange(0, max(1, size - 65536))
            async with http.get(url, headers=headers | {"Range": f"bytes={start}-{start + 65535}"}) as response:
                done += len(await response.read())
    begun = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(8)))
    return done / (time.perf_counter() - begun) / 1e6


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else (values or [0.0])[0]  # type: ignore


async def load(args: argparse.Namespace, base: str, bare: str, media: Path) -> None:
    import aiohttp

    opened: list[float] = []
    beat_ms: list[float] = []
    videos: list[str] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(operator(http, base, n, random.uniform(0, args.spread), args.beats, 5.0, opened,
                                        beat_ms, videos) for n in range(args.users)))
        size = (media / "safety.mp4").stat().st_size
        # Alternating rounds, so a drift in the machine's load (other work, the database settling after the burst)
        # weighs on both sides alike; the bot's URL is the one its page signed.
        rounds = [(await throughput(http, f"{base}{videos[0]}", {}, size, args.seconds / 4),
                   await throughput(http, f"{bare}/video", {}, size, args.seconds / 4)) for _ in range(4)]
        ours, theirs = (statistics.fmean(side) for side in zip(*rounds, strict=True))
    print(f"page open: n={len(opened)} p50={pct(opened, 50):.1f} ms p99={pct(opened, 99):.1f} ms")
    print(f"heartbeat: n={len(beat_ms)} p50={pct(beat_ms, 50):.1f} ms p99={pct(beat_ms, 99):.1f} ms (target < 50)")
    print(f"video bytes: bot {ours:.1f} MB/s, bare FileResponse {theirs:.1f} MB/s = {ours / theirs:.0%}"
          " (target >= 80 %)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", help="default: a fresh SQLite file")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=60.0)
    parser.add_argument("--beats", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0, help="per throughput measurement")
    args = parser.parse_args()
    from bot.training.media import ensure_demo_media

    folder = Path(tempfile.mkdtemp(prefix="opsbot-bench-training-"))
    media = folder / "media"
    ensure_demo_media(media)
    port, bare_port = free_port(), free_port()
    data = settings_dict(args.database or f"sqlite+aiosqlite:///{folder / 'bench.db'}", port, media)
    asyncio.run(prepare(data, args.users))
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(data, bare_port, ready), daemon=True)
    server.start()
    try:
        if not ready.wait(60):
            raise SystemExit("server did not start")
        asyncio.run(load(args, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bare_port}", media))
    finally:
        server.terminate()
        server.join(10)


if __name__ == "__main__":
    main()
