"""Patrol dispatch at scale: 2,000 per-machine rounds start at one shift slot.

    .venv/bin/python -m bench.patrols [--database URL] [--rounds 2000] [--answers 300]

Measures, in one process against a real database and the WeCom sandbox over loopback HTTP:
1. creating every round of the slot with its card queued (one dispatcher transaction), next to the bare cost of
   queuing the same number of outbox rows (the baseline);
2. delivering the cards through the outbox sender at WeCom's rate (`requests_per_second`), as cards a second;
3. checkpoint answers (one transaction each: lock, check, write, commit) while the cards go out, p50/p99, next to
   the same answers with the sender idle (the baseline).
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

SHIFT = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # 08:00 Shanghai, a day shift start
CHECKLIST = """
code = "BENCH"
name = "基准点检"
[scope]
kind = "machine_type"
type = "ALL"
[schedule]
kind = "shift"
[assign]
role = "operator"
[window]
due_min = 60
[[checkpoints]]
code = "M"
name = "设备本体"
[[checkpoints.items]]
code = "oil"
name = "油位"
kind = "ok_ng"
[[checkpoints.items]]
code = "temp"
name = "温度"
kind = "number"
max = 60
unit = "℃"
"""


async def seed(sessions, machines: int) -> list[str]:  # type: ignore[no-untyped-def]
    from bot.models import Line, Machine, Plant, User

    async with sessions.begin() as s:
        plant = Plant(code="P", name="基准工厂")
        s.add(plant)
        await s.flush()
        # one line per machine with its own operator: each round goes to one member (WeCom's per-member limit
        # of 30 a minute never binds, so the corp-wide rate is what is measured)
        lines = [Line(plant_id=plant.id, code=f"L{n:05d}", name=f"{n}号线") for n in range(machines)]
        s.add_all(lines)
        await s.flush()
        codes = []
        for n, line in enumerate(lines):
            s.add(Machine(line_id=line.id, code=f"M{n:05d}", name=f"设备{n}"))
            s.add(User(wecom_userid=f"op{n:05d}", name=f"操作工{n}", roles=["operator"], line_id=line.id))
            codes.append(f"M{n:05d}")
    return codes


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


async def answer_latencies(sessions, settings, templates, round_ids: list[int], now: datetime) -> list[float]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from bot.models import User
    from bot.models.patrols import PatrolRound
    from bot.patrols.service import PatrolService

    out = []
    for round_id in round_ids:
        started = time.perf_counter()
        async with sessions.begin() as session:
            row = await session.get(PatrolRound, round_id)
            user = await session.scalar(select(User).where(User.wecom_userid == row.assignees[0]))
            await PatrolService(session, settings, templates, now).answer(user, round_id, "M", "oil", "ok")
        out.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0)  # let the sender run between answers, as callbacks would interleave
    return out


async def main(args: argparse.Namespace) -> None:
    import aiohttp
    from sqlalchemy import func, select

    import bot.models  # noqa: F401
    from bot import outbox
    from bot.db import Base, make_engine, make_session_factory
    from bot.models import OutboxMessage
    from bot.models.patrols import PatrolRound
    from bot.patrols.kickoff import dispatch_due_rounds
    from bot.settings import settings_from_dict
    from bot.templates import Templates
    from bot.token_store import DatabaseTokenStore
    from integrations.wecom.client import WeComClient
    from integrations.wecom.limits import SendLimiter
    from integrations.wecom.sandbox import Sandbox, SandboxConfig

    tmp = Path(tempfile.mkdtemp(prefix="bench-patrols-"))
    db_url = args.database or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    (tmp / "patrols").mkdir()
    (tmp / "patrols" / "bench.toml").write_text(CHECKLIST, encoding="utf-8")
    aes = "b3BzYm90LWRlbW8tYWVzLWtleS0zMi1ieXRlcy1vayE"
    sandbox = Sandbox(SandboxConfig(encoding_aes_key=aes, callback_timeout_s=5.0))
    api = await sandbox.start()
    engine = make_engine(db_url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    sessions = make_session_factory(engine)
    codes = await seed(sessions, args.rounds)
    for n in range(args.rounds):
        sandbox.add_user(f"op{n:05d}", f"操作工{n}")
    settings = settings_from_dict({
        "wecom": {"corp_id": "wwsandbox0000000001", "agent_id": 1000002, "secret": "sandbox-secret",
                  "token": "sandboxtoken", "encoding_aes_key": aes, "api_base": api, "oauth_base": api},
        "database": {"url": db_url}, "outbox": {"poll_interval_s": 0.05},
        "patrols": {"folder": str(tmp / "patrols"), "machine_types": {"ALL": codes}}})
    templates = Templates(settings.tz)

    # baseline 1: the bare cost of queuing as many outbox rows
    started = time.perf_counter()
    async with sessions.begin() as session:
        for n in range(args.rounds):
            outbox.enqueue(session, "text", {"content": "x"}, to=[f"op{n:05d}"], idempotency_key=f"base:{n}")
    baseline_s = time.perf_counter() - started
    async with sessions.begin() as session:
        await session.execute(OutboxMessage.__table__.delete())

    started = time.perf_counter()
    async with sessions.begin() as session:
        created = await dispatch_due_rounds(session, settings, templates, SHIFT + timedelta(minutes=1))
    dispatch_s = time.perf_counter() - started
    async with sessions.begin() as session:  # a second dispatcher for the same slot: nothing more
        again = await dispatch_due_rounds(session, settings, templates, SHIFT + timedelta(minutes=1))
    async with sessions() as session:
        rounds = await session.scalar(select(func.count()).select_from(PatrolRound))
    print(f"dispatch: {len(created)} rounds + cards in {dispatch_s:.2f} s "
          f"({dispatch_s / baseline_s:.1f}x bare enqueue of as many rows, {baseline_s:.2f} s); "
          f"second dispatcher created {len(again)}; rounds in db {rounds}")

    if args.dispatch_only:
        await engine.dispose()
        await sandbox.stop()
        return
    now = SHIFT + timedelta(minutes=5)
    idle = await answer_latencies(sessions, settings, templates, created[:args.answers], now)

    from bot.outbox import OutboxSender

    async with aiohttp.ClientSession() as http:
        client = WeComClient(http, corp_id="wwsandbox0000000001", secret="sandbox-secret", agent_id=1000002,
                             api_base=api, oauth_base=api, token_store=DatabaseTokenStore(sessions),
                             limiter=SendLimiter(per_member_per_minute=settings.outbox.per_member_per_minute,
                                                 requests_per_second=settings.outbox.requests_per_second))
        wakeup, stop = asyncio.Event(), asyncio.Event()
        sender = OutboxSender(sessions, client, settings.outbox, wakeup, lambda: now, producers={})
        task = asyncio.create_task(sender.run(stop))
        started = time.perf_counter()
        busy = await answer_latencies(sessions, settings, templates, created[args.answers:2 * args.answers], now)
        while True:
            async with sessions() as session:
                left = await session.scalar(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.status != "sent"))
            if not left:
                break
            await asyncio.sleep(0.5)
        deliver_s = time.perf_counter() - started
        stop.set()
        await task
    cards = sum(1 for m in sandbox.state.messages if m.msgtype == "template_card")
    rate = settings.outbox.requests_per_second
    print(f"delivery: {cards} cards in {deliver_s:.1f} s = {cards / deliver_s:.1f}/s "
          f"({cards / deliver_s / rate:.2f}x the configured {rate}/s)")
    print(f"answers while idle: p50 {statistics.median(idle):.1f} ms, p99 {percentile(idle, 0.99):.1f} ms")
    print(f"answers while delivering: p50 {statistics.median(busy):.1f} ms, p99 {percentile(busy, 0.99):.1f} ms "
          f"({percentile(busy, 0.99) / percentile(idle, 0.99):.2f}x idle p99)")
    await engine.dispose()
    await sandbox.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="default: a temporary SQLite file")
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--answers", type=int, default=300)
    parser.add_argument("--dispatch-only", action="store_true", help="stop after the dispatch figure")
    asyncio.run(main(parser.parse_args()))
