"""Helpers for equipment tests: a hand-driven clock, seeded machines, a config for a simulator, a driver."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.equipment.cards import Notifier
from bot.equipment.runtime import EquipmentRuntime
from bot.equipment.settings import EquipmentSettings
from bot.models import Line, Machine, Plant
from bot.models.equipment import CounterDelta, DowntimeAlert, MachineState
from bot.settings_schema import SettingsError, from_mapping
from bot.templates import Templates
from integrations.opcua import EndpointCollector, ReadCycle
from integrations.opcua.simulator import PlantSimulator, SimMachine
from tests.clock import StoppedClock

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
CODES = ["L1-M1", "L1-M2", "L2-M1"]
ENDPOINT_CODES = {"a": ["L1-M1", "L1-M2"], "b": ["L2-M1"]}  # the replica tests' two endpoints


@dataclass
class FakeClock(StoppedClock):
    """Stands at T0 unless told otherwise."""

    now: datetime = T0


def sim_machines(codes: list[str] = CODES) -> list[SimMachine]:
    """Deterministic machines: no random failures, idles or scrap; one part every 2 s."""
    return [SimMachine(code, cycle_time_s=2.0, scrap_rate=0.0, mtbf_s=0, idle_rate=0.0) for code in codes]


def equipment_config(sim: PlantSimulator, codes: list[str] = CODES, **andon: Any) -> dict[str, Any]:
    """The [equipment] table a plant engineer would write for the simulator."""
    machines = []
    for code in codes:
        nodes = sim.node_ids(code)
        machines.append({"code": code, "endpoint": "sim",
                         "tags": {k: nodes[k] for k in ("state", "good", "scrap", "alarm")},
                         "extra": {"temperature": nodes["temperature"]}})
    return {"endpoints": [{"name": "sim", "url": sim.endpoint, "interval_s": 0.2}],
            "machines": machines, "alarm_reasons": {"105": "ELEC"},
            "andon": {"threshold_s": 60, "min_gap_s": 600, "recover_s": 300, "escalate_after_min": [10, 20]}
            | andon}


def parse(raw: dict[str, Any]) -> EquipmentSettings:
    problems: list[str] = []
    settings = from_mapping(EquipmentSettings, raw, "equipment", problems)
    if problems:
        raise SettingsError(problems)
    return settings


async def seed_machines(sessions: async_sessionmaker[AsyncSession], codes: list[str] = CODES) -> dict[str, int]:
    """Plant, lines L1/L2 and the machines; returns line code -> id (machine ids via machine_ids)."""
    async with sessions.begin() as session:
        plant = Plant(code="P", name="测试工厂")
        session.add(plant)
        await session.flush()
        lines = {c: Line(plant_id=plant.id, code=c, name={"L1": "机加线", "L2": "装配线"}[c]) for c in ("L1", "L2")}
        session.add_all(lines.values())
        await session.flush()
        session.add_all(Machine(line_id=lines[c[:2]].id, code=c, name=f"设备{c}") for c in codes)
    return {c: line.id for c, line in lines.items()}


@dataclass
class Driver:
    """Reads the simulator once per step at the fake clock's time and feeds the runtime, as the job would."""

    sim: PlantSimulator
    clock: FakeClock
    runtime: EquipmentRuntime
    collector: EndpointCollector
    cycles: list[ReadCycle] = field(default_factory=list)

    @classmethod
    async def start(cls, sim: PlantSimulator, clock: FakeClock, sessions: async_sessionmaker[AsyncSession],
                    settings: EquipmentSettings, notifier: Notifier | None = None, wakeup: Any = None) -> Driver:
        runtime = EquipmentRuntime(sessions, settings, notifier, clock, wakeup)
        await runtime.store.load()
        endpoint = settings.endpoint_configs()[0]
        tags = [t for m in settings.machines_of(endpoint.name) for t in m.tag_refs()]
        collector = EndpointCollector(endpoint, tags, clock=clock)
        await collector.connect()
        return cls(sim, clock, runtime, collector)

    async def step(self, seconds: float = 0.0, *, tick: bool = True) -> ReadCycle:
        if seconds and tick:
            await self.sim.tick(seconds)
        self.clock.advance(seconds)
        cycle = await self.collector.read_once()
        self.cycles.append(cycle)
        await self.runtime.consume(cycle)
        return cycle

    async def close(self) -> None:
        await self.collector.close()


def notifier(settings: EquipmentSettings) -> Notifier:
    return Notifier(Templates(ZoneInfo("Asia/Shanghai")), settings)


Interval = tuple[str, datetime, datetime | None]


async def intervals(sessions: async_sessionmaker[AsyncSession], code: str) -> list[Interval]:
    async with sessions() as session:
        rows = await session.scalars(select(MachineState).join(Machine, Machine.id == MachineState.machine_id)
                                     .where(Machine.code == code).order_by(MachineState.start_at, MachineState.id))
        return [(r.state, r.start_at, r.end_at) for r in rows]


async def deltas(sessions: async_sessionmaker[AsyncSession], code: str) -> list[CounterDelta]:
    async with sessions() as session:
        return list(await session.scalars(select(CounterDelta).join(Machine, Machine.id == CounterDelta.machine_id)
                                          .where(Machine.code == code).order_by(CounterDelta.id)))


async def alerts(sessions: async_sessionmaker[AsyncSession]) -> list[DowntimeAlert]:
    async with sessions() as session:
        return list(await session.scalars(select(DowntimeAlert).order_by(DowntimeAlert.id)))


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_sim(port: int | None = None, codes: list[str] = CODES) -> PlantSimulator:
    """A simulator whose clock stands still (tests call tick())."""
    return PlantSimulator(sim_machines(codes), endpoint=f"opc.tcp://127.0.0.1:{port or free_port()}/opsbot/",
                          speed=0)
