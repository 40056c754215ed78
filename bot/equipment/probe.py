"""Commissioning helpers: read every endpoint once and show what each machine reports; run the simulator."""
from __future__ import annotations

import asyncio
import signal
from typing import Any

from bot.equipment.counting import read_machine
from bot.equipment.settings import EquipmentSettings
from integrations.opcua import EndpointCollector, ReadCycle
from integrations.opcua.errors import OpcUaError


async def poll_once(settings: EquipmentSettings) -> dict[str, Any]:
    """One read per endpoint, concurrently; an unreachable endpoint is reported, not raised."""
    endpoints = await asyncio.gather(*(_read_endpoint(settings, e.name) for e in settings.endpoint_configs()))
    return {"endpoints": list(endpoints)}


async def _read_endpoint(settings: EquipmentSettings, name: str) -> dict[str, Any]:
    endpoint = next(e for e in settings.endpoint_configs() if e.name == name)
    machines = settings.machines_of(name)
    collector = EndpointCollector(endpoint, [tag for m in machines for tag in m.tag_refs()])
    try:
        await collector.connect()
    except OpcUaError as exc:
        cycle: ReadCycle | None = None
        error: str | None = str(exc)
    else:
        cycle = await collector.read_once()
        error = cycle.error
    finally:
        await collector.close()
    report: dict[str, Any] = {"name": name, "url": endpoint.url, "ok": bool(cycle and cycle.ok), "error": error,
                              "duration_ms": round(cycle.duration_s * 1000, 1) if cycle else None, "machines": []}
    for machine in machines:
        entry: dict[str, Any] = {"code": machine.code, "state": "unknown"}
        if cycle is not None:
            reading = read_machine(cycle, machine, settings)
            prefix = f"{machine.code}/"
            entry.update(state=reading.state, raw_state=reading.raw_state, reason_code=reading.reason_code,
                         counters=reading.counters, extras=reading.extras, tags={
                             key.removeprefix(prefix): {"value": _plain(v.value), "status": v.status}
                             for key, v in cycle.values.items() if key.startswith(prefix)})
        report["machines"].append(entry)
    return report


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def render_text(report: dict[str, Any]) -> str:
    lines = []
    for endpoint in report["endpoints"]:
        status = f"ok in {endpoint['duration_ms']} ms" if endpoint["ok"] else f"FAILED: {endpoint['error']}"
        lines.append(f"{endpoint['name']} {endpoint['url']}: {status}")
        for m in endpoint["machines"]:
            bad = [f"{k}={t['status']}" for k, t in m.get("tags", {}).items() if t["status"] != "Good"]
            lines.append(f"  {m['code']:<10} {m['state']:<12} raw={m.get('raw_state')} "
                         f"counters={m.get('counters')} extras={m.get('extras')}"
                         + (f" bad: {', '.join(bad)}" if bad else ""))
    return "\n".join(lines)


async def simulate(settings: EquipmentSettings, *, speed: float, cycle_time_s: float, seed: int) -> int:
    """One simulator server per configured endpoint URL, with the configured machines; Ctrl-C stops it."""
    from integrations.opcua.simulator import PlantSimulator, SimMachine

    simulators = []
    for endpoint in settings.endpoint_configs():
        machines = settings.machines_of(endpoint.name)
        simulator = PlantSimulator([SimMachine(code=m.code, cycle_time_s=cycle_time_s) for m in machines],
                                   endpoint=endpoint.url, speed=speed, seed=seed)
        for m in machines:
            expected = simulator.node_ids(m.code)
            for key, node in m.tags.items():
                if expected.get(key) != node:
                    print(f"warning: {m.code} tags.{key} = {node!r}, the simulator serves {expected.get(key)!r}")
        await simulator.start()
        simulators.append(simulator)
        print(f"simulating {len(machines)} machines at {endpoint.url}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    print("READY; Ctrl-C to stop", flush=True)
    await stop.wait()
    for simulator in simulators:
        await simulator.stop()
    return 0
