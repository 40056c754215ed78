"""Two real collector processes (`opsbot equipment poll`) started at the same instant on one PostgreSQL database:
they split the two endpoints, `opsbot equipment status` names the owners, and after SIGKILL of one the other
holds its endpoint within 10 s, with the silence recorded as unknown and every part counted once."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models.replicas import CollectorLease
from integrations.opcua.simulator import PlantSimulator
from tests.bot.equipment.support import ENDPOINT_CODES, deltas, intervals, seed_machines
from tests.bot.equipment.test_replica_runtime import assert_contiguous
from tests.conftest import eventually, postgres_only

pytestmark = [pytest.mark.db, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _replicas_need_postgres(db_url: str) -> None:  # autouse: skips before the simulators start
    postgres_only(db_url)


def config(path: Path, db_url: str, sims: dict[str, PlantSimulator], replica: str) -> Path:
    text = f'[database]\nurl = "{db_url}"\n[leases]\nttl_s = 3\nrenew_s = 1\nreplica_id = "{replica}"\n'
    for name, sim in sims.items():
        text += f'[[equipment.endpoints]]\nname = "{name}"\nurl = "{sim.endpoint}"\ninterval_s = 0.2\n'
    for name, codes in ENDPOINT_CODES.items():
        for code in codes:
            nodes = sims[name].node_ids(code)
            tags = ", ".join(f'{key} = "{nodes[key]}"' for key in ("state", "good", "scrap", "alarm"))
            text += f'[[equipment.machines]]\ncode = "{code}"\nendpoint = "{name}"\ntags = {{ {tags} }}\n'
    path.write_text(text, encoding="utf-8")
    return path


async def owners(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    async with sessions() as session:
        return {r.endpoint: r.owner for r in await session.scalars(select(CollectorLease))}


async def test_collector_processes_share_endpoints_and_fail_over(
        tmp_path: Path, db_url: str, sims: dict[str, PlantSimulator],
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    await seed_machines(session_factory)
    configs = {r: config(tmp_path / f"{r}.toml", db_url, sims, r) for r in ("p1", "p2")}
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    processes = dict(zip(configs, await asyncio.gather(*(asyncio.create_subprocess_exec(
        sys.executable, "-m", "opsbot.cli", "--config", str(c), "equipment", "poll", cwd=ROOT, env=env,
        stdout=(tmp_path / f"{r}.log").open("wb"), stderr=asyncio.subprocess.STDOUT)
        for r, c in configs.items())), strict=True))
    try:
        spread = await eventually(lambda: _spread(session_factory), timeout=30)
        await eventually(lambda: intervals(session_factory, "L2-M1"), timeout=10)
        await eventually(lambda: intervals(session_factory, "L1-M1"), timeout=10)
        await sims["a"].tick(20)
        status = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "opsbot.cli", "--config", str(configs["p1"]), "equipment", "status", cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out = (await status.communicate())[0].decode()
        for endpoint, owner in spread.items():
            assert any(line.split()[:2] == [endpoint, owner] for line in out.splitlines()), out
        victim = spread["a"]
        processes[victim].send_signal(signal.SIGKILL)
        await processes[victim].wait()
        killed = time.monotonic()
        await sims["a"].tick(10)  # parts nobody reads until the survivor takes over
        survivor = next(r for r in processes if r != victim)
        await eventually(lambda: _owned_by(session_factory, "a", survivor), timeout=15)
        handover = time.monotonic() - killed
        assert handover < 10, f"endpoint re-owned after {handover:.1f} s"
        await eventually(lambda: _has_unknown(session_factory, "L1-M1"), timeout=10)
        await sims["a"].tick(6)
        await asyncio.sleep(1.0)  # the survivor reads the last parts; its clean stop writes them
    finally:
        for process in processes.values():
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), timeout=20)
    for code in ENDPOINT_CODES["a"]:
        rows = await intervals(session_factory, code)
        assert_contiguous(rows)
        assert "unknown" in [state for state, _, _ in rows]
        assert sum(d.good for d in await deltas(session_factory, code)) == sims["a"].model(code).good, code
    print(f"handover after SIGKILL: {handover:.2f} s")


async def _spread(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str] | None:
    current = await owners(sessions)
    return current if len(current) == 2 and len(set(current.values())) == 2 else None


async def _owned_by(sessions: async_sessionmaker[AsyncSession], endpoint: str, replica: str) -> bool:
    return (await owners(sessions)).get(endpoint) == replica


async def _has_unknown(sessions: async_sessionmaker[AsyncSession], code: str) -> bool:
    rows = await intervals(sessions, code)
    return [s for s, _, _ in rows][-2:] == ["unknown", "running"]
