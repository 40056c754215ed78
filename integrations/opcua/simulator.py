"""An asyncua server modelling a small plant, for tests, benchmarks and the demo.

Run alone: python -m integrations.opcua.simulator --machines 6 --port 4840
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import signal
import time
from datetime import UTC, datetime
from typing import Any, Literal

from asyncua import Server, ua

from .const import MAX_NODES_PER_READ, STATE_CODES
from .sim_model import DOWN, MachineModel, SimMachine

__all__ = ["STATE_CODES", "PlantSimulator", "SimMachine", "default_machines", "main"]

# key -> (browse name, variant type, initial value)
_TAGS: dict[str, tuple[str, ua.VariantType, Any]] = {
    "state": ("State", ua.VariantType.Int32, 1),
    "good": ("Good", ua.VariantType.UInt32, 0),
    "scrap": ("Scrap", ua.VariantType.UInt32, 0),
    "total": ("Total", ua.VariantType.UInt32, 0),
    "alarm": ("Alarm", ua.VariantType.Int32, 0),
    "temperature": ("Temperature", ua.VariantType.Double, 25.0),
}
_CLOCK_STEP_S = 0.5


class PlantSimulator:
    """Machines under Objects/Plant/<code>/<Tag>, string node ids "<code>.<Tag>" in our namespace."""

    def __init__(
        self,
        machines: list[SimMachine],
        *,
        endpoint: str = "opc.tcp://127.0.0.1:4840/opsbot/",
        namespace: str = "urn:opsbot:sim",
        seed: int = 1,
        speed: float = 1.0,
        extra_tags_per_machine: int = 0,
        max_nodes_per_read: int = 1000,
        leading_namespaces: tuple[str, ...] = (),
    ) -> None:
        """speed=0 stops the real-time clock (tests call tick()); leading_namespaces shift our index."""
        self.endpoint = endpoint
        self.namespace = namespace
        self.speed = speed
        self.extra_tags_per_machine = extra_tags_per_machine
        self.max_nodes_per_read = max_nodes_per_read
        self.leading_namespaces = leading_namespaces
        self.namespace_index: int | None = None
        self._models = {m.code: MachineModel(m, random.Random(f"{seed}:{m.code}")) for m in machines}
        self._server: Server | None = None
        self._clock_task: asyncio.Task[None] | None = None
        self._written: dict[ua.NodeId, Any] = {}

    @property
    def server(self) -> Server:
        """The running asyncua server, for instrumentation in tests."""
        return self._require_server()

    def model(self, code: str) -> MachineModel:
        """The live model of a machine, for assertions."""
        return self._models[code]

    async def start(self) -> None:
        """Build a fresh server (as a PLC restart would) with the machines' current state, and listen."""
        server = Server()
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name("opsbot plant simulator")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        for uri in self.leading_namespaces:
            await server.register_namespace(uri)
        index = await server.register_namespace(self.namespace)
        plant_id, plant_name = ua.NodeId("Plant", index), ua.QualifiedName("Plant", index)
        plant = await server.nodes.objects.add_folder(plant_id, plant_name)
        for code in self._models:
            machine = await plant.add_object(ua.NodeId(code, index), ua.QualifiedName(code, index))
            for name, vtype, initial in self._tag_specs():
                await machine.add_variable(
                    ua.NodeId(f"{code}.{name}", index), ua.QualifiedName(name, index), initial, vtype
                )
        await server.start()
        limit = ua.DataValue(ua.Variant(self.max_nodes_per_read, ua.VariantType.UInt32))
        await server.write_attribute_value(MAX_NODES_PER_READ, limit)
        self._server, self.namespace_index, self._written = server, index, {}
        await self._publish()
        if self.speed > 0:
            self._clock_task = asyncio.create_task(self._clock())

    async def stop(self) -> None:
        """Stop listening; the machines' state is kept for a later start()."""
        if self._clock_task is not None:
            self._clock_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._clock_task
            self._clock_task = None
        if self._server is not None:
            await self._server.stop()
            self._server = None

    def node_ids(self, code: str, *, form: Literal["ns", "nsu", "path"] = "ns") -> dict[str, str]:
        """Tag key -> node reference: "ns=2;s=L1-M1.State", "nsu=urn…;s=…" or "nsu=urn…;path=Objects/…"."""
        if code not in self._models:
            raise KeyError(code)
        index = self.namespace_index if self.namespace_index is not None else 2 + len(self.leading_namespaces)
        refs: dict[str, str] = {}
        for key, (name, _, _) in zip(self._tag_keys(), self._tag_specs(), strict=True):
            if form == "ns":
                refs[key] = f"ns={index};s={code}.{name}"
            elif form == "nsu":
                refs[key] = f"nsu={self.namespace};s={code}.{name}"
            else:
                refs[key] = f"nsu={self.namespace};path=Objects/{index}:Plant/{index}:{code}/{index}:{name}"
        return refs

    async def set_state(self, code: str, state_code: int, alarm: int = 0) -> None:
        """Put a machine in a state by hand (planned stop, setup…); running resumes the automatic model."""
        if state_code not in STATE_CODES:
            raise ValueError(f"unknown state code {state_code}; known: {sorted(STATE_CODES)}")
        self._models[code].set_state(state_code, alarm)
        await self._publish()

    async def fail(self, code: str, alarm: int) -> None:
        """Break a machine with an alarm code; it stays down until repair()."""
        self._models[code].set_state(DOWN, alarm)
        await self._publish()

    async def repair(self, code: str) -> None:
        """Clear the failure and run again."""
        self._models[code].repair()
        await self._publish()

    async def reset_counters(self, code: str) -> None:
        """Zero good/scrap/total, as an operator does at shift change."""
        model = self._models[code]
        model.good = model.scrap = 0
        await self._publish()

    async def set_counters(self, code: str, good: int, scrap: int = 0) -> None:
        """Set counters directly, e.g. near the UInt32 maximum to provoke a wrap-around."""
        model = self._models[code]
        model.good, model.scrap = good, scrap
        await self._publish()

    async def set_bad(self, code: str, key: str, status: str = "BadSensorFailure") -> None:
        """Give one tag a bad status (no value) until its value is next written."""
        nodeid = ua.NodeId.from_string(self.node_ids(code)[key])
        await self._require_server().write_attribute_value(
            nodeid, ua.DataValue(StatusCode=ua.StatusCode(getattr(ua.StatusCodes, status)))
        )
        self._written.pop(nodeid, None)

    async def tick(self, seconds: float) -> None:
        """Advance every machine deterministically and publish the changed values."""
        for model in self._models.values():
            model.advance(seconds)
        await self._publish()

    async def _clock(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(_CLOCK_STEP_S)
            now = time.monotonic()
            await self.tick((now - last) * self.speed)
            last = now

    async def _publish(self) -> None:
        """Write changed values only (extra tags are static); write_attribute_value still notifies."""
        if self._server is None:
            return
        now = datetime.now(UTC)
        index = self.namespace_index
        for code, model in self._models.items():
            current = {
                "State": model.state,
                "Good": model.good,
                "Scrap": model.scrap,
                "Total": model.total,
                "Alarm": model.alarm,
                "Temperature": model.temperature,
            }
            for name, value in current.items():
                nodeid = ua.NodeId(f"{code}.{name}", index)
                if self._written.get(nodeid, _UNSET) == value:
                    continue
                vtype = _TAGS[name.lower()][1]
                data = ua.DataValue(ua.Variant(value, vtype), SourceTimestamp=now, ServerTimestamp=now)
                await self._server.write_attribute_value(nodeid, data)
                self._written[nodeid] = value

    def _tag_specs(self) -> list[tuple[str, ua.VariantType, Any]]:
        count = self.extra_tags_per_machine
        extras = [(f"X{i:03d}", ua.VariantType.Double, float(i)) for i in range(1, count + 1)]
        return [*_TAGS.values(), *extras]

    def _tag_keys(self) -> list[str]:
        return [*_TAGS, *(f"x{i:03d}" for i in range(1, self.extra_tags_per_machine + 1))]

    def _require_server(self) -> Server:
        if self._server is None:
            raise RuntimeError("simulator is not started")
        return self._server


_UNSET = object()


def default_machines(count: int, per_line: int = 3) -> list[SimMachine]:
    """Machines L1-M1, L1-M2, L1-M3, L2-M1… with slightly different cycle times."""
    return [
        SimMachine(code=f"L{i // per_line + 1}-M{i % per_line + 1}", cycle_time_s=2.0 + 0.25 * (i % 4))
        for i in range(count)
    ]


async def _serve(args: argparse.Namespace) -> None:
    simulators = [
        PlantSimulator(
            default_machines(args.machines),
            endpoint=f"opc.tcp://{args.host}:{args.port + n}/opsbot/",
            seed=args.seed + n,
            speed=args.speed,
            extra_tags_per_machine=args.extra_tags,
            max_nodes_per_read=args.max_nodes_per_read,
        )
        for n in range(args.endpoints)
    ]
    for simulator in simulators:
        await simulator.start()
        print(f"READY {simulator.endpoint}", flush=True)
    print("ALL READY", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await asyncio.gather(*(simulator.stop() for simulator in simulators))


def main(argv: list[str] | None = None) -> None:
    """Command line entry: serve one or more simulated plants until interrupted."""
    parser = argparse.ArgumentParser(description="OPC UA plant simulator for opsbot")
    parser.add_argument("--machines", type=int, default=6)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4840)
    parser.add_argument("--endpoints", type=int, default=1, help="servers on consecutive ports")
    parser.add_argument("--extra-tags", type=int, default=0, help="static Double tags per machine")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-nodes-per-read", type=int, default=1000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
