"""A server that goes away and comes back (renumbering its namespaces) is collected from again within 5 s."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from integrations.opcua.collector import EndpointCollector
from integrations.opcua.config import EndpointConfig, TagRef
from integrations.opcua.simulator import PlantSimulator, SimMachine
from integrations.opcua.values import ReadCycle

from .conftest import free_port, wait_until


@pytest.mark.slow
@pytest.mark.parametrize("outage_s", [6, 30], ids=["6s", "30s"])
async def test_cycles_fail_during_the_gap_and_recover_within_5s_of_restart(
    caplog: pytest.LogCaptureFixture, outage_s: int
) -> None:
    caplog.set_level(logging.INFO, logger="integrations.opcua")
    sim = PlantSimulator(
        [SimMachine("L1-M1", mtbf_s=0, idle_rate=0)],
        endpoint=f"opc.tcp://127.0.0.1:{free_port()}/opsbot/",
        speed=0,
    )
    await sim.start()
    tags = [TagRef(key, node) for key, node in sim.node_ids("L1-M1", form="nsu").items()]
    tags.append(TagRef("state_by_path", sim.node_ids("L1-M1", form="path")["state"]))
    config = EndpointConfig(name="line1", url=sim.endpoint, interval_s=0.2, timeout_s=1.0)
    collector = EndpointCollector(config, tags)
    cycles: list[ReadCycle] = []
    stop = asyncio.Event()

    async def collect(cycle: ReadCycle) -> None:
        cycles.append(cycle)

    runner = asyncio.create_task(collector.run(collect, stop))
    try:
        await wait_until(lambda: bool(cycles) and cycles[-1].ok, timeout=5)
        assert cycles[-1].values["good"].value == 0 and sim.namespace_index == 2
        await sim.stop()
        down_from = len(cycles)
        # Stay down (failed cycles every 0.2 s) well past the point where the reconnect backoff reaches its cap.
        failed_cycles = int(outage_s / config.interval_s)
        await wait_until(lambda: sum(not c.ok for c in cycles[down_from:]) >= failed_cycles, timeout=outage_s + 10)
        assert not collector.last_update_success
        await sim.tick(10)  # 5 parts made while the server was away
        sim.leading_namespaces = ("urn:vendor:firmware-update",)  # the restarted server renumbers
        await sim.start()
        restarted_at, restarted_from = time.monotonic(), len(cycles)
        recovery_s = await wait_until(lambda: cycles[-1].ok, timeout=6)
    finally:
        stop.set()
        await runner
        await collector.close()
        await sim.stop()

    assert recovery_s <= 5.0, f"recovered {recovery_s:.2f} s after the restart"
    gap = cycles[down_from:restarted_from]
    assert gap and all(not c.ok and c.values == {} and c.error for c in gap)
    back = next(c for c in cycles[restarted_from:] if c.ok)
    assert (back.at - cycles[restarted_from].at).total_seconds() <= time.monotonic() - restarted_at
    assert sim.namespace_index == 3
    assert back.values["good"].value == 5 and back.values["total"].value == 5
    assert back.values["state"].value == 1 and back.values["state_by_path"].value == 1
    warnings = [
        r for r in caplog.records if r.name == "integrations.opcua.collector" and r.levelno == logging.WARNING
    ]
    recoveries = [r for r in caplog.records if "collecting again" in r.getMessage()]
    assert len(warnings) == 1 and "cannot collect" in warnings[0].getMessage()
    assert len(recoveries) == 1
