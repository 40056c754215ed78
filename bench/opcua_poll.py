"""OPC UA collection benchmark: the collector vs raw asyncua reads, and sustained polling of 10 endpoints.

    .venv/bin/python -m bench.opcua_poll [--seconds 20] [--endpoints 10] [--tags 1000]

The simulator runs in a separate process on this machine (one asyncua server per endpoint, consecutive
ports, 1,000 tags each). (b) runs twice: cycles into an in-memory sink that only counts good values (the
baseline), then into the equipment store on SQLite (state intervals, counter deltas, cursors: what the bot
runs), and reports tag values per second into storage against that baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

from asyncua import Client

from bench.opcua_storage import StorageBench
from integrations.opcua.collector import EndpointCollector
from integrations.opcua.config import EndpointConfig, TagRef
from integrations.opcua.simulator import PlantSimulator, default_machines
from integrations.opcua.values import ReadCycle

MACHINES_PER_ENDPOINT = 10
STANDARD_TAGS = 6


def free_port_block(count: int) -> int:
    """First of `count` consecutive loopback ports that are free now."""
    for base in range(47000, 60000, 50):
        try:
            for port in range(base, base + count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no free port block")


def endpoint_tags(extra: int) -> list[TagRef]:
    """The same node ids the simulator builds (its node_ids), without starting a server here."""
    shape = PlantSimulator(default_machines(MACHINES_PER_ENDPOINT), extra_tags_per_machine=extra, speed=0)
    return [
        TagRef(f"{m.code}/{key}", node)
        for m in default_machines(MACHINES_PER_ENDPOINT)
        for key, node in shape.node_ids(m.code).items()
    ]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process from /proc, in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_simulator(port: int, endpoints: int, extra: int) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        "-m",
        "integrations.opcua.simulator",
        "--machines",
        str(MACHINES_PER_ENDPOINT),
        "--extra-tags",
        str(extra),
        "--endpoints",
        str(endpoints),
        "--port",
        str(port),
        "--speed",
        "1",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if line.strip() == "ALL READY":
            return process
    raise RuntimeError(f"simulator exited with {process.wait()}")


def url(port: int) -> str:
    return f"opc.tcp://127.0.0.1:{port}/opsbot/"


async def compare_reads(port: int, tags: list[TagRef], rounds: int) -> None:
    """(a) one endpoint: collector cycle vs raw read_values vs node-by-node read_value."""
    collector = EndpointCollector(EndpointConfig(name="bench", url=url(port)), tags)
    await collector.connect()
    raw = Client(url(port))
    await raw.connect()
    nodes = [raw.get_node(tag.node) for tag in tags]
    collector_s: list[float] = []
    raw_s: list[float] = []
    for index in range(rounds + 3):  # interleaved, so drift hits both alike; 3 warm-up rounds
        started = time.perf_counter()
        cycle = await collector.read_once()
        collector_time = time.perf_counter() - started
        started = time.perf_counter()
        values = await raw.read_values(nodes)
        raw_time = time.perf_counter() - started
        assert cycle.ok and len(cycle.values) == len(values) == len(tags)
        if index >= 3:
            collector_s.append(collector_time)
            raw_s.append(raw_time)
    single_s: list[float] = []
    for _ in range(3):
        started = time.perf_counter()
        for node in nodes:
            await node.read_value()
        single_s.append(time.perf_counter() - started)
    await raw.disconnect()
    await collector.close()
    c, r, s = statistics.median(collector_s), statistics.median(raw_s), statistics.median(single_s)
    good = sum(v.good for v in cycle.values.values())
    print(f"(a) one endpoint, {len(tags)} tags, median of {rounds} cycles (node-by-node: 3 rounds)")
    print(f"    collector read_once      {c * 1000:8.1f} ms  ({len(tags) / c:,.0f} values/s, {good} good)")
    print(f"    raw read_values          {r * 1000:8.1f} ms  ({len(tags) / r:,.0f} values/s)")
    print(f"    node-by-node read_value  {s * 1000:8.1f} ms  ({len(tags) / s:,.0f} values/s)")
    print(f"    collector / raw read_values = {c / r:.2f}x   (target <= 1.3x)")
    print(f"    node-by-node / collector    = {s / c:.1f}x faster (target >= 8x)")


@dataclass
class Sink:
    """In-memory stand-in for the storage of a later phase: counts what arrives inside the window."""

    window: tuple[float, float] = (0.0, 0.0)
    storage: StorageBench | None = None
    values: int = 0
    cycles: int = 0
    failed: int = 0
    errors: set[str] = field(default_factory=set)
    durations: list[float] = field(default_factory=list)

    async def __call__(self, cycle: ReadCycle) -> None:
        started = time.monotonic() - cycle.duration_s
        if self.storage is not None:
            await self.storage.ingest(cycle)  # every cycle, so the store's state stays whole
        if not self.window[0] <= started < self.window[1]:
            return
        self.cycles += 1
        self.failed += not cycle.ok
        if cycle.error:
            self.errors.add(cycle.error)
        self.values += sum(1 for value in cycle.values.values() if value.good)
        self.durations.append(cycle.duration_s)


async def sustained(
    base_port: int, endpoints: int, tags: list[TagRef], seconds: float, interval: float, sim_pid: int,
    storage: StorageBench | None = None,
) -> tuple[float, int]:
    """(b) all endpoints at `interval`, staggered; returns values/s and missed cycles inside the window."""
    collectors = [
        EndpointCollector(EndpointConfig(name=f"e{n}", url=url(base_port + n), interval_s=interval),
                          storage.tags(f"e{n}") if storage else tags)
        for n in range(endpoints)
    ]
    for collector in collectors:
        await collector.connect()
    warmup = 2.0
    sink = Sink(storage=storage)
    stop = asyncio.Event()

    async def staggered(n: int, collector: EndpointCollector) -> None:
        await asyncio.sleep(n * interval / endpoints)  # coordinator-style stagger: spread the load
        await collector.run(sink, stop)

    runners = [asyncio.create_task(staggered(n, c)) for n, c in enumerate(collectors)]
    start = time.monotonic() + warmup
    sink.window = (start, start + seconds)
    await asyncio.sleep(warmup)
    missed_before = sum(c.missed_cycles for c in collectors)
    cpu_before, sim_before = time.process_time(), cpu_seconds(sim_pid)
    await asyncio.sleep(seconds)
    cpu_client, cpu_server = time.process_time() - cpu_before, cpu_seconds(sim_pid) - sim_before
    missed = sum(c.missed_cycles for c in collectors) - missed_before
    stop.set()
    await asyncio.gather(*runners)
    for collector in collectors:
        await collector.close()
    rate = sink.values / seconds
    expected = endpoints * round(seconds / interval)
    p95 = sorted(sink.durations)[int(len(sink.durations) * 0.95) - 1] if sink.durations else float("nan")
    where = f"into storage: {storage.describe()}" if storage else "in-memory sink, the baseline"
    print(f"    {endpoints} endpoints x {len(tags)} tags every {interval:g} s for {seconds:g} s ({where})")
    print(f"    cycles {sink.cycles} of {expected} scheduled, failed {sink.failed}, missed {missed}"
          + (f" (errors: {'; '.join(sorted(sink.errors))[:200]})" if sink.errors else ""))
    print(
        f"    good values/s {rate:,.0f} = {rate / (endpoints * len(tags) / interval):.2f}x the offered load "
        f"of {endpoints * len(tags) / interval:,.0f}/s"
    )
    median = statistics.median(sink.durations)
    print(
        f"    cycle duration median {median * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms; "
        f"CPU: collector process {cpu_client / seconds:.0%}, simulator process {cpu_server / seconds:.0%}"
    )
    return rate, missed


async def main_async(args: argparse.Namespace) -> None:
    extra = args.tags // MACHINES_PER_ENDPOINT - STANDARD_TAGS
    tags = endpoint_tags(extra)
    base = free_port_block(args.endpoints)
    started = time.monotonic()
    simulator = start_simulator(base, args.endpoints, extra)
    print(
        f"simulator: {args.endpoints} servers x {len(tags)} tags in a separate process, "
        f"started in {time.monotonic() - started:.1f} s"
    )
    try:
        await compare_reads(base, tags, args.rounds)
        print("(b) sustained polling at 1 s, target >= 10,000 values/s into storage and no missed cycle")
        baseline, _ = await sustained(base, args.endpoints, tags, args.seconds, 1.0, simulator.pid)
        storage = await StorageBench.create(args.endpoints, MACHINES_PER_ENDPOINT, extra, args.flush_s)
        try:
            rate, missed = await sustained(base, args.endpoints, tags, args.seconds, 1.0, simulator.pid, storage)
            print(f"    {storage.report(args.seconds)}")
        finally:
            await storage.close()
        verdict = "met" if rate >= 10_000 and missed == 0 else "NOT met"
        print(f"    into storage / in-memory baseline = {rate / baseline:.2f}x")
        print(f"    target {verdict}: {rate / 10_000:.2f}x of 10,000 values/s into storage, {missed} missed")
        print("(c) headroom: the same endpoints back to back (interval 0.05 s: missed cycles expected)")
        ceiling, _ = await sustained(base, args.endpoints, tags, 5.0, 0.05, simulator.pid)
        print(f"    ceiling {ceiling:,.0f} values/s = {ceiling / rate:.1f}x the rate sustained in (b)")
    finally:
        simulator.terminate()
        try:
            simulator.wait(timeout=20)
        except subprocess.TimeoutExpired:
            simulator.kill()
            simulator.wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--tags", type=int, default=1000, help="per endpoint, a multiple of 10, >= 60")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--flush-s", type=float, default=60.0,
                        help="how often the store writes counts of a running machine (1: every cycle)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
