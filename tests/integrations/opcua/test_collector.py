"""The collector against a real asyncua server: batched reads, bad tags, namespace URIs and browse paths."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from asyncua.common.callback import CallbackType

from integrations.opcua.collector import EndpointCollector
from integrations.opcua.config import EndpointConfig, TagRef
from integrations.opcua.errors import OpcUaError
from integrations.opcua.simulator import PlantSimulator, SimMachine
from integrations.opcua.values import ReadCycle

from .conftest import free_port, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="module")

MACHINES = ["L1-M1", "L1-M2", "L1-M3"]
READ_LIMIT = 7  # small MaxNodesPerRead so 18+ tags need several ReadRequests


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sim() -> AsyncIterator[PlantSimulator]:
    # A leading namespace puts ours at index 3, so "ns=2" style assumptions would be caught.
    simulator = PlantSimulator(
        [SimMachine(code, mtbf_s=0) for code in MACHINES],
        endpoint=f"opc.tcp://127.0.0.1:{free_port()}/opsbot/",
        speed=0,
        max_nodes_per_read=READ_LIMIT,
        leading_namespaces=("urn:vendor:other",),
    )
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture(scope="module")
def read_sizes(sim: PlantSimulator) -> list[int]:
    """Node counts of every ReadRequest for our namespace that reaches the server."""
    sizes: list[int] = []

    def on_read(event: object, _dispatcher: object) -> None:
        nodes = event.request_params.NodesToRead  # type: ignore[attr-defined]
        if any(item.NodeId.NamespaceIndex == sim.namespace_index for item in nodes):
            sizes.append(len(nodes))

    sim.server.subscribe_server_callback(CallbackType.PreRead, on_read)
    return sizes


def endpoint(sim: PlantSimulator, **overrides: object) -> EndpointConfig:
    return EndpointConfig(name="line1", url=sim.endpoint, **overrides)  # type: ignore[arg-type]


def all_tags(sim: PlantSimulator, form: str = "ns") -> list[TagRef]:
    return [
        TagRef(f"{code}/{key}", node)
        for code in MACHINES
        for key, node in sim.node_ids(code, form=form).items()  # type: ignore[arg-type]
    ]


def expected_values(sim: PlantSimulator) -> dict[str, object]:
    values: dict[str, object] = {}
    for code in MACHINES:
        model = sim.model(code)
        values |= {
            f"{code}/state": model.state,
            f"{code}/good": model.good,
            f"{code}/scrap": model.scrap,
            f"{code}/total": model.total,
            f"{code}/alarm": model.alarm,
            f"{code}/temperature": model.temperature,
        }
    return values


async def test_batched_read_matches_node_values_in_chunks(sim: PlantSimulator, read_sizes: list[int]) -> None:
    await sim.tick(30)
    await sim.fail("L1-M2", alarm=205)
    frozen = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    collector = EndpointCollector(endpoint(sim), all_tags(sim), clock=lambda: frozen)
    await collector.connect()
    try:
        read_sizes.clear()
        cycle = await collector.read_once()
        chunk_size = collector.chunk_size
    finally:
        await collector.close()
    assert cycle.ok and cycle.error is None and cycle.endpoint == "line1" and cycle.at == frozen
    assert {key: value.value for key, value in cycle.values.items()} == expected_values(sim)
    assert all(value.good and value.status == "Good" for value in cycle.values.values())
    assert cycle.values["L1-M2/alarm"].value == 205 and cycle.values["L1-M1/good"].value > 0
    assert cycle.values["L1-M1/state"].source_time is not None
    assert cycle.values["L1-M1/state"].source_time.tzinfo is not None
    assert chunk_size == READ_LIMIT
    assert read_sizes == [7, 7, 4]  # 18 tags, one ReadRequest per chunk, none node by node


async def test_bad_tags_are_reported_while_the_others_are_read(sim: PlantSimulator) -> None:
    ids = sim.node_ids("L1-M3")
    tags = [
        TagRef("state", ids["state"]),
        TagRef("temperature", ids["temperature"]),
        TagRef("missing", f"ns={sim.namespace_index};s=L1-M3.NoSuchTag"),
        TagRef("wrong_path", f"nsu={sim.namespace};path=Objects/2:Plant/2:L1-M3/2:Nope"),
        TagRef("wrong_namespace", "nsu=urn:nobody;s=L1-M3.State"),
        TagRef("good", ids["good"]),
    ]
    collector = EndpointCollector(endpoint(sim), tags)
    await collector.connect()
    try:
        await sim.set_bad("L1-M3", "temperature", "BadSensorFailure")
        cycle = await collector.read_once()
        await sim.tick(1)  # the next write of the temperature brings it back to good
        recovered = await collector.read_once()
    finally:
        await collector.close()
    assert cycle.ok and list(cycle.values) == [tag.key for tag in tags]
    statuses = {key: (value.good, value.status, value.value) for key, value in cycle.values.items()}
    assert statuses["temperature"] == (False, "BadSensorFailure", None)
    assert statuses["missing"] == (False, "BadNodeIdUnknown", None)
    assert statuses["wrong_path"] == (False, "BadNoMatch", None)
    assert statuses["wrong_namespace"] == (False, "BadNodeIdUnknown", None)
    assert statuses["state"] == (True, "Good", sim.model("L1-M3").state)
    assert statuses["good"] == (True, "Good", sim.model("L1-M3").good)
    assert (
        recovered.values["temperature"].good
        and recovered.values["temperature"].value == sim.model("L1-M3").temperature
    )


@pytest.mark.parametrize("form", ["nsu", "path"])
async def test_namespace_uri_and_browse_path_refs_resolve(sim: PlantSimulator, form: str) -> None:
    collector = EndpointCollector(endpoint(sim), all_tags(sim, form))
    await collector.connect()
    try:
        cycle = await collector.read_once()
    finally:
        await collector.close()
    assert sim.namespace_index == 3
    assert all_tags(sim, "path")[0].node == f"nsu={sim.namespace};path=Objects/3:Plant/3:L1-M1/3:State"
    assert cycle.ok and {key: value.value for key, value in cycle.values.items()} == expected_values(sim)


async def test_subscription_mode_follows_changes(sim: PlantSimulator) -> None:
    tags = [TagRef("state", sim.node_ids("L1-M1")["state"]), TagRef("alarm", sim.node_ids("L1-M1")["alarm"])]
    collector = EndpointCollector(endpoint(sim, mode="subscribe", interval_s=0.05), tags)
    cycles: list[ReadCycle] = []
    stop = asyncio.Event()

    async def collect(cycle: ReadCycle) -> None:
        cycles.append(cycle)

    runner = asyncio.create_task(collector.run(collect, stop))
    try:
        await wait_until(lambda: bool(cycles) and cycles[-1].ok, timeout=3)
        assert cycles[-1].values["state"].value == 1
        await sim.fail("L1-M1", alarm=110)
        await wait_until(lambda: cycles[-1].values["alarm"].value == 110, timeout=3)
        assert cycles[-1].values["state"].value == 3 and collector.last_update_success
    finally:
        stop.set()
        await runner
        await collector.close()
        await sim.repair("L1-M1")


async def test_unreachable_endpoint_raises_our_error_and_cycles_report_it() -> None:
    config = EndpointConfig(name="ghost", url=f"opc.tcp://127.0.0.1:{free_port()}/", timeout_s=1)
    collector = EndpointCollector(config, [TagRef("x", "ns=2;s=X")])
    with pytest.raises(OpcUaError, match="connect to opc.tcp://127.0.0.1:.*: connection refused"):
        await collector.connect()
    cycle = await collector.read_once()
    assert not cycle.ok and cycle.values == {} and "connection refused" in (cycle.error or "")
    assert not collector.last_update_success


async def test_duplicate_or_invalid_tags_are_refused() -> None:
    config = EndpointConfig(name="e", url="opc.tcp://127.0.0.1:4840/")
    with pytest.raises(ValueError, match="duplicate tag key 'a'"):
        EndpointCollector(config, [TagRef("a", "ns=2;s=A"), TagRef("a", "ns=2;s=B")])
    with pytest.raises(ValueError, match="expected ns="):
        EndpointCollector(config, [TagRef("a", "A")])


async def test_run_after_connect_polls_at_the_interval(sim: PlantSimulator) -> None:
    collector = EndpointCollector(endpoint(sim, interval_s=0.05), all_tags(sim)[:3])
    await collector.connect()
    cycles: list[ReadCycle] = []
    stop = asyncio.Event()

    async def collect(cycle: ReadCycle) -> None:
        cycles.append(cycle)

    runner = asyncio.create_task(collector.run(collect, stop))
    try:
        await wait_until(lambda: len(cycles) >= 5, timeout=3)
    finally:
        stop.set()
        await runner
        await collector.close()
    assert all(cycle.ok and len(cycle.values) == 3 for cycle in cycles)
    gaps = [(b.at - a.at).total_seconds() for a, b in zip(cycles, cycles[1:], strict=False)]
    assert 0.03 < sum(gaps) / len(gaps) < 0.1 and collector.missed_cycles == 0
