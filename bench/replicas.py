"""The 扫码报工 burst (bench/report_burst.py) through nginx to 1, 2 and 3 `opsbot serve` replicas on one PostgreSQL
database, with the CPU each process used; then the fail-over time when the collector owner is SIGKILLed.

    .venv/bin/python -m bench.replicas [--database URL] [--users 600] [--spread 15] [--replicas 1,2,3]

The database's public schema is reset (default: a database of its own, `opsbot_bench_replicas`, created if
missing). Ratios are against the one-replica run of the same invocation. On a 2-core machine three replicas,
nginx, PostgreSQL, the WeCom sandbox and the load generator share two cores: expect no speed-up, read the CPU
split instead.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.report_burst import (
    AES_KEY,
    AGENT,
    CORP,
    LINES,
    SECRET,
    TOKEN,
    Envelopes,
    cards_delivered,
    cpu_seconds,
    drive,
    pct,
    quantities,
    seed,
    verify,
)
from tests.e2e.cluster import QR_SECRET, Nginx, Replica, free_port, nginx_binary, replica_config, stamp_head

DEFAULT_DB = "postgresql+asyncpg://root@127.0.0.1:5432/opsbot_bench_replicas"
WARM_UP = 15  # users per replica sent straight to it first: imports and template compiles are not the burst


async def ensure_database(url: str) -> None:
    """Create the benchmark's own database on first use (never someone else's schema)."""
    import asyncpg

    name = url.rsplit("/", 1)[1]
    server = url.replace("postgresql+asyncpg://", "postgresql://").rsplit("/", 1)[0]
    conn = await asyncpg.connect(f"{server}/postgres")
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def postgres_cpu() -> float:
    """CPU of every PostgreSQL server process now alive (other users' queries included: noted as such)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    total += cpu_seconds(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return total


def tree_cpu(pid: int) -> float:
    """A process and its direct children (nginx's master and worker)."""
    total = cpu_seconds(pid)
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            total += cpu_seconds(int(child))
    return total


async def burst(args: argparse.Namespace, count: int, tmp: Path, *, direct: bool = False) -> dict[str, float]:
    from integrations.wecom.messages import inbound_scan_xml, inbound_text_xml

    await seed(args.database, args.users + WARM_UP * count)
    await stamp_head(args.database)
    sandbox_port, ports = free_port(), [free_port() for _ in range(count)]
    nginx = Nginx(tmp / f"nginx{count}", ports)
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    extra = (f'[sandbox]\nhost = "127.0.0.1"\nport = {sandbox_port}\n'
             f'[reports]\nconfirm_card = {"true" if args.cards else "false"}\n')
    replicas = []
    for n, port in enumerate(ports):
        config = tmp / f"c{count}-{n}.toml"
        config.write_text(replica_config(db_url=args.database, public_url=nginx.url, api=sandbox_url, corp_id=CORP,
                                         agent_id=AGENT, secret=SECRET, token=TOKEN, aes_key=AES_KEY,
                                         replica=f"r{n + 1}", extra=extra), encoding="utf-8")
        replicas.append(Replica(f"r{n + 1}", config, port, tmp / f"r{count}-{n}.log"))
    log = (tmp / f"sandbox{count}.log").open("ab")
    sandbox = await asyncio.create_subprocess_exec(sys.executable, "-m", "opsbot.cli", "--config",
                                                   str(replicas[0].config), "sandbox", stdout=log, stderr=log)
    try:
        await asyncio.gather(*(r.start() for r in replicas))
        await asyncio.gather(*(r.ready() for r in replicas))
        await nginx.start()
        target = f"http://127.0.0.1:{ports[0]}" if direct else nginx.url
        return await measure(args, nginx, target, replicas, sandbox.pid, inbound_scan_xml, inbound_text_xml)
    finally:
        for replica in replicas:
            await replica.stop()
        await nginx.stop()
        sandbox.terminate()
        await sandbox.wait()
        log.close()


async def measure(args: argparse.Namespace, nginx: Nginx, target: str, replicas: list[Replica], sandbox_pid: int,
                  scan_xml, text_xml) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from bot.qr import QrPayload, QrSigner

    env, signer = Envelopes(), QrSigner(QR_SECRET, nginx.url)

    def user_plan(i: int) -> list[tuple[str, bytes]]:
        label = signer.url(QrPayload("op", (f"WO-B{i % LINES:02d}", "10")))
        return [env.post(scan_xml(CORP, f"u{i:05d}", AGENT, label, env.now)),
                env.post(text_xml(CORP, f"u{i:05d}", AGENT, quantities(i)[2], str(10**12 + i), env.now))]

    for n, replica in enumerate(replicas):
        first = args.users + n * WARM_UP
        await drive(f"http://127.0.0.1:{replica.port}/wecom/callback",
                    [user_plan(i) for i in range(first, first + WARM_UP)], 1.0, env)
    plan = [user_plan(i) for i in range(args.users)]
    pids = {r.name: r.process.pid for r in replicas if r.process}
    assert nginx.process is not None
    before = {**{n: cpu_seconds(p) for n, p in pids.items()}, "nginx": tree_cpu(nginx.process.pid),
              "postgres": postgres_cpu(), "sandbox": cpu_seconds(sandbox_pid), "driver": time.process_time()}
    results, elapsed = await drive(f"{target}/wecom/callback", plan, args.spread, env)
    confirmed = {i for i, r in enumerate(results) if "报工成功" in r[1][1]}
    cards, drain = await cards_delivered(args.database, args.users if args.cards else 0)
    after = {**{n: cpu_seconds(p) for n, p in pids.items()}, "nginx": tree_cpu(nginx.process.pid),
             "postgres": postgres_cpu(), "sandbox": cpu_seconds(sandbox_pid), "driver": time.process_time()}
    lost, duplicated, wrong = await verify(args.database, args.users, confirmed)
    report = [r[1][0] for r in results]
    cpu = {name: after[name] - before[name] for name in before}
    return {"p50": pct(report, 50), "p99": pct(report, 99), "rate": 2 * args.users / elapsed, "elapsed": elapsed,
            "confirmed": len(confirmed), "lost": lost, "duplicated": duplicated, "wrong": wrong, "cards": cards,
            "drain": drain, **{f"cpu:{k}": v for k, v in cpu.items()}, "wall": elapsed + drain}


async def failover(args: argparse.Namespace, tmp: Path) -> tuple[float, float]:
    """Three collector processes on the simulator; SIGKILL the owner: seconds until another owns the endpoint
    (and the best case ttl_s the leases allow)."""
    from sqlalchemy import select

    from bot.db import make_engine, make_session_factory
    from bot.models import Machine
    from bot.models.replicas import CollectorLease
    from integrations.opcua.simulator import PlantSimulator, SimMachine

    sim = PlantSimulator([SimMachine("M1", cycle_time_s=2.0)], endpoint=f"opc.tcp://127.0.0.1:{free_port()}/b/",
                         speed=1.0)
    await sim.start()
    engine = make_engine(args.database)
    sessions = make_session_factory(engine)
    async with sessions.begin() as s:
        s.add(Machine(line_id=1, code="M1", name="M1"))
    nodes = sim.node_ids("M1")
    tags = ", ".join(f'{k} = "{nodes[k]}"' for k in ("state", "good", "scrap"))
    processes = []
    try:
        for n in range(3):
            config = tmp / f"collector{n}.toml"
            config.write_text(f'[database]\nurl = "{args.database}"\n[leases]\nreplica_id = "c{n}"\n'
                              f'[[equipment.endpoints]]\nname = "sim"\nurl = "{sim.endpoint}"\ninterval_s = 0.5\n'
                              f'[[equipment.machines]]\ncode = "M1"\nendpoint = "sim"\ntags = {{ {tags} }}\n',
                              encoding="utf-8")
            processes.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "opsbot.cli", "--config", str(config), "equipment", "poll",
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL))

        async def owner() -> str | None:
            async with sessions() as s:
                lease = (await s.scalars(select(CollectorLease))).first()
                return lease.owner if lease else None

        while (first := await owner()) is None:
            await asyncio.sleep(0.1)
        await asyncio.sleep(3)  # a few renewals
        victim = processes[int((await owner() or first)[1:])]
        victim.kill()
        await victim.wait()
        killed_owner, started = await owner(), time.monotonic()
        while await owner() == killed_owner:
            await asyncio.sleep(0.05)
        return time.monotonic() - started, 6.0
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
                await process.wait()
        await engine.dispose()
        await sim.stop()


async def run(args: argparse.Namespace) -> int:
    if nginx_binary() is None:
        raise SystemExit("nginx is not installed: apt-get install -y nginx")
    await ensure_database(args.database)
    tmp = Path(tempfile.mkdtemp(prefix="bench-replicas-"))
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores); {args.users} users over "
          f"{args.spread:.0f} s, scan + report each, cards {'on' if args.cards else 'off'}; PostgreSQL")
    figures = {}
    runs = [("1 replica, no nginx (baseline)", 1, True)]
    runs += [(f"{n} replica(s) via nginx", n, False) for n in args.replicas]
    for name, count, direct in runs:
        figures[name] = result = await burst(args, count, tmp, direct=direct)
        base = figures[runs[0][0]]
        replica_cpu = sum(v for k, v in result.items() if k.startswith("cpu:r"))
        split = ", ".join(f"{k[4:]} {v:.1f}" for k, v in result.items() if k.startswith("cpu:"))
        print(f"{name}: {result['rate']:4.0f} callbacks/s offered, "
              f"confirmation p50 {result['p50']:6.1f} ms p99 {result['p99']:7.1f} ms "
              f"({result['p99'] / base['p99']:.2f}x); confirmed {result['confirmed']:.0f}, lost {result['lost']:.0f}, "
              f"doubled {result['duplicated']:.0f}; cards {result['cards']:.0f} "
              f"(+{result['drain']:.1f} s)\n    CPU s: {split}; bot total {replica_cpu:.1f} s = "
              f"{replica_cpu * 1000 / (2 * args.users):.2f} ms/callback "
              f"({replica_cpu / max(1e-9, sum(v for k, v in base.items() if k.startswith('cpu:r'))):.2f}x)")
    took, ttl = await failover(args, tmp)
    print(f"fail-over: SIGKILL of the collector owner to another replica owning the endpoint: {took:.2f} s "
          f"(ttl_s {ttl:.0f} + renew_s 2 bound: 8 s; target 10 s)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=os.environ.get("OPSBOT_BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--users", type=int, default=600)
    parser.add_argument("--spread", type=float, default=15.0)
    parser.add_argument("--replicas", type=lambda v: [int(x) for x in v.split(",")], default=[1, 2, 3])
    parser.add_argument("--cards", action="store_true", help="confirmation cards on (the open PostgreSQL problem "
                        "in docs/benchmarks.md makes the burst slow with them)")
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
