"""Three `opsbot serve` replicas behind nginx (the file in docs/deployment.md) on one PostgreSQL database with the
OPC UA simulator: a burst of scan reports and machine stops, and the replica that owns the collector is SIGKILLed
mid-burst. Every confirmed report is stored once, every card delivered once, the endpoint is re-owned within
10 s, state intervals neither overlap nor repeat, no part is lost, and each job slot fires once."""
from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import JobRun, Machine, Operation, OutboxMessage, User, WorkOrder
from bot.models.replicas import CollectorLease
from bot.models.reports import WorkReport
from bot.qr import QrPayload, QrSigner
from integrations.opcua.simulator import PlantSimulator
from integrations.wecom import messages
from integrations.wecom.sandbox import Sandbox, SandboxConfig
from tests.bot.equipment.support import CODES, deltas, intervals, make_sim, seed_machines
from tests.bot.equipment.test_replica_runtime import assert_contiguous
from tests.conftest import DEMO_AES_KEY, eventually
from tests.e2e.cluster import QR_SECRET, Nginx, Replica, free_port, nginx_binary, replica_config, stamp_head

pytestmark = [pytest.mark.slow, pytest.mark.db]
REPLICAS, USERS, ROUNDS, KILL_AFTER = 3, 24, 5, 40
ESCALATION_S = 2  # the andon escalation job's interval: its slots show it fired once each, across the kill


async def seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    lines = await seed_machines(sessions)
    async with sessions.begin() as s:
        order = WorkOrder(code="WO-R", line_id=lines["L1"], quantity=10**6, status="released")
        s.add(order)
        await s.flush()
        s.add(Operation(work_order_id=order.id, seq=10, name="装配", planned_quantity=10**6))
        s.add_all(User(wecom_userid=f"u{n:03d}", name=f"工{n}", roles=["operator"], line_id=lines["L1"])
                  for n in range(USERS))
        s.add_all(User(wecom_userid=f"m{line}", name=f"维修{line}", roles=["maintenance"], line_id=lines[line])
                  for line in ("L1", "L2"))


def equipment_toml(sim: PlantSimulator) -> str:
    text = f'[[equipment.endpoints]]\nname = "sim"\nurl = "{sim.endpoint}"\ninterval_s = 0.5\n'
    for code in CODES:
        nodes = sim.node_ids(code)
        tags = ", ".join(f'{key} = "{nodes[key]}"' for key in ("state", "good", "scrap", "alarm"))
        text += f'[[equipment.machines]]\ncode = "{code}"\nendpoint = "sim"\ntags = {{ {tags} }}\n'
    return text + ('[equipment.alarm_reasons]\n"105" = "ELEC"\n'
                   "[equipment.andon]\nthreshold_s = 2\nmin_gap_s = 600\nrecover_s = 300\n")


async def lease_of(sessions: async_sessionmaker[AsyncSession]) -> CollectorLease | None:
    async with sessions() as s:
        return await s.get(CollectorLease, "sim", populate_existing=True)


async def job_fired_since(sessions: async_sessionmaker[AsyncSession], slot: int) -> bool:
    """A replica fired the escalation job in `slot` or later (`bot.scheduler.slot_of`: time // interval)."""
    async with sessions() as s:
        slots = (await s.scalars(select(JobRun.slot).where(JobRun.job == "andon_escalation"))).all()
    return any(int(fired) >= slot for fired in slots)


async def test_three_replicas_behind_nginx_survive_killing_the_collector_owner(
        tmp_path: Path, db_url: str, session_factory: async_sessionmaker[AsyncSession]) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("replicas share PostgreSQL")
    if nginx_binary() is None:
        pytest.skip("nginx is not installed (apt-get install nginx)")
    await seed(session_factory)
    await stamp_head(db_url)
    sim = make_sim()
    await sim.start()
    ports = [free_port() for _ in range(REPLICAS)]
    nginx = Nginx(tmp_path / "nginx", ports)
    people = {**{f"u{n:03d}": f"工{n}" for n in range(USERS)}, "mL1": "维修一", "mL2": "维修二"}
    sandbox = Sandbox(SandboxConfig(encoding_aes_key=DEMO_AES_KEY, callback_timeout_s=10.0,
                                    callback_url=f"{nginx.url}/wecom/callback", users=people))
    api = await sandbox.start()
    extra = ("[reports]\nconfirm_card = true\n[outbox]\nlease_s = 3.0\n"
             f"[jobs.andon_escalation]\ninterval_s = {ESCALATION_S}\n" + equipment_toml(sim))
    replicas = {}
    for n, port in enumerate(ports):
        name = f"r{n + 1}"
        config = tmp_path / f"{name}.toml"
        config.write_text(replica_config(db_url=db_url, public_url=nginx.url, api=api, corp_id=sandbox.config.corp_id,
                                         agent_id=sandbox.config.agent_id, secret=sandbox.config.secret,
                                         token=sandbox.config.token, aes_key=DEMO_AES_KEY, replica=name, extra=extra),
                          encoding="utf-8")
        replicas[name] = Replica(name, config, port, tmp_path / f"{name}.log")
    url = QrSigner(QR_SECRET, nginx.url).url(QrPayload("op", ("WO-R", "10")))
    confirmed: dict[int, int] = {}
    killed, stop_ticking = asyncio.Event(), asyncio.Event()
    handover: list[float] = []
    killed_in_slot: list[int] = []

    async def until_ok(send) -> dict | None:  # type: ignore[no-untyped-def]
        """Resends the very same callback, as WeCom retries, until a replica answers."""
        for _ in range(100):
            result = await send()
            if result.status == 200:
                return result.reply
            await asyncio.sleep(0.2)
        raise AssertionError("no replica answered")

    async def user(n: int) -> None:
        userid = f"u{n:03d}"
        for round_ in range(ROUNDS):
            good = n * 100 + round_ + 1
            await until_ok(lambda key=f"scan{round_}": sandbox.scan(userid, url, key=key))
            xml = messages.inbound_text_xml(sandbox.config.corp_id, userid, sandbox.config.agent_id, str(good),
                                            str(10**12 + good), int(time.time()))
            reply = await until_ok(lambda xml=xml: sandbox.post_raw(xml))
            if match := re.search(r"报工成功：编号 (\d+)", (reply or {}).get("Content", "")):
                confirmed[good] = int(match.group(1))
            if len(confirmed) >= KILL_AFTER:
                killed.set()

    async def machines() -> None:
        """Parts keep coming; two machines stop during the burst and one is repaired."""
        await sim.fail("L1-M1", 105)
        second_stop = False
        while not stop_ticking.is_set():
            await sim.tick(2)
            if killed.is_set() and not second_stop:
                await sim.fail("L2-M1", 105)
                second_stop = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_ticking.wait(), timeout=0.3)

    async def chaos() -> None:
        await killed.wait()
        lease = await lease_of(session_factory)
        assert lease is not None
        victim = lease.owner
        await replicas[victim].kill()
        started = time.monotonic()
        while True:
            lease = await lease_of(session_factory)
            if lease is not None and lease.owner != victim:
                handover.append(time.monotonic() - started)
                killed_in_slot.append(int(time.time() // ESCALATION_S))  # the job's slots are time // interval
                return
            assert time.monotonic() - started < 15, "the endpoint was not re-owned"
            await asyncio.sleep(0.1)

    try:
        await asyncio.gather(*(r.start() for r in replicas.values()))
        await asyncio.gather(*(r.ready() for r in replicas.values()))
        await nginx.start()
        await eventually(lambda: lease_of(session_factory), timeout=20)
        await eventually(lambda: all_collected(session_factory), timeout=20)  # the baseline reading is in
        ticking = asyncio.create_task(machines())
        await asyncio.wait_for(asyncio.gather(chaos(), *(user(n) for n in range(USERS))), timeout=150)
        await sim.repair("L1-M1")
        await eventually(lambda: outbox_drained(session_factory), timeout=30)
        # the survivors go on firing the job: two slots after the owner died (not "a run long enough")
        await eventually(lambda: job_fired_since(session_factory, killed_in_slot[0] + 2), timeout=30)
        stop_ticking.set()
        await ticking
        await asyncio.sleep(1.5)  # the survivor reads the last ticks; its clean stop below writes them
    finally:
        stop_ticking.set()
        for replica in replicas.values():
            with contextlib.suppress(Exception):
                await replica.stop()
        await nginx.stop()
        await sandbox.stop()
        await sim.stop()
    async with session_factory() as s:
        stored = (await s.execute(select(WorkReport.good, WorkReport.id))).all()
        slots = [int(slot) for (slot,) in (await s.execute(select(JobRun.slot).where(
            JobRun.job == "andon_escalation"))).all()]
        machine_ids = {m.code: m.id for m in await s.scalars(select(Machine))}
    goods = [good for good, _ in stored]
    assert len(goods) == len(set(goods)), "a report was stored twice"
    assert {good: dict(stored).get(good) for good in confirmed} == confirmed
    assert len(confirmed) == USERS * ROUNDS
    assert handover and handover[0] < 10, f"endpoint re-owned after {handover}"
    delivered = Counter((m.api, "|".join(m.touser), m.msgtype, json.dumps(m.payload, sort_keys=True))
                        for m in sandbox.messages if m.api != "passive_reply")
    assert [key for key, times in delivered.items() if times > 1] == [], "a message was delivered twice"
    report_cards = [m for m in sandbox.messages if m.msgtype == "template_card" and m.touser[0].startswith("u")]
    assert len(report_cards) == len(confirmed)
    assert any(m.touser == ["mL1"] for m in sandbox.messages), "the stop was never alerted"
    for code in CODES:
        rows = await intervals(session_factory, code)
        assert_contiguous(rows)
        assert "unknown" in [state for state, _, _ in rows], (code, rows)  # the owner's death is a data gap
        assert sum(d.good for d in await deltas(session_factory, code)) == sim.model(code).good, code
    assert sorted(slots) == list(range(min(slots), max(slots) + 1)), "a job slot was skipped or fired twice"
    assert machine_ids and max(slots) >= killed_in_slot[0] + 2
    print(f"endpoint re-owned {handover[0]:.2f} s after SIGKILL; {len(confirmed)} reports; {len(slots)} job slots")


async def all_collected(sessions: async_sessionmaker[AsyncSession]) -> bool:
    return all([await intervals(sessions, code) for code in CODES])


async def outbox_drained(sessions: async_sessionmaker[AsyncSession]) -> bool:
    async with sessions() as s:
        return not (await s.scalars(select(OutboxMessage.id).where(
            OutboxMessage.status.in_(["pending", "sending"])).limit(1))).first()
