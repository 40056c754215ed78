"""The storage side of bench.opcua_poll: the equipment store on a fresh SQLite file, machines seeded."""
from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import bot.models  # noqa: F401 - every table on the metadata
from bot.db import Base, make_engine, make_session_factory
from bot.equipment.settings import EquipmentSettings, MachineSettings
from bot.equipment.storage import EquipmentStore
from bot.models import Line, Machine, Plant
from integrations.opcua.config import TagRef
from integrations.opcua.simulator import PlantSimulator, default_machines
from integrations.opcua.values import ReadCycle


class StorageBench:
    """One store for all endpoints, as the bot's runtime has; times each ingest."""

    def __init__(self, store: EquipmentStore, engine: object, directory: tempfile.TemporaryDirectory[str]) -> None:
        self.store, self.engine, self.directory = store, engine, directory
        self.ingest_s: list[float] = []

    @classmethod
    async def create(cls, endpoints: int, machines_per_endpoint: int, extra: int, flush_s: float) -> StorageBench:
        directory = tempfile.TemporaryDirectory(prefix="opsbot-bench-")
        engine = make_engine(f"sqlite+aiosqlite:///{Path(directory.name) / 'bench.db'}")
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        sessions = make_session_factory(engine)
        shape = PlantSimulator(default_machines(machines_per_endpoint), extra_tags_per_machine=extra, speed=0)
        machines: list[MachineSettings] = []
        for n in range(endpoints):
            for sim_machine in default_machines(machines_per_endpoint):
                nodes = shape.node_ids(sim_machine.code)
                tags = {k: nodes[k] for k in ("state", "good", "scrap", "total", "alarm")}
                extras = {k: v for k, v in nodes.items() if k not in tags}
                machines.append(MachineSettings(code=f"E{n}-{sim_machine.code}", endpoint=f"e{n}", tags=tags,
                                                extra=extras))
        settings = EquipmentSettings(endpoints=[{"name": f"e{n}", "url": "opc.tcp://127.0.0.1:1/"}
                                                for n in range(endpoints)], machines=machines)
        async with sessions.begin() as session:
            plant = Plant(code="B", name="bench")
            session.add(plant)
            await session.flush()
            line = Line(plant_id=plant.id, code="B1", name="bench")
            session.add(line)
            await session.flush()
            session.add_all(Machine(line_id=line.id, code=m.code, name=m.code) for m in machines)
        store = EquipmentStore(sessions, settings, flush_s=flush_s)
        await store.load()
        return cls(store, engine, directory)

    def tags(self, endpoint: str) -> list[TagRef]:
        return [t for m in self.store.settings.machines_of(endpoint) for t in m.tag_refs()]

    def describe(self) -> str:
        machines, flush = len(self.store.tracks), self.store.flush_s
        return f"equipment store, SQLite, {machines} machines, counts written every {flush:g} s"

    async def ingest(self, cycle: ReadCycle) -> None:
        started = time.perf_counter()
        await self.store.ingest(cycle)
        self.ingest_s.append(time.perf_counter() - started)

    def report(self, seconds: float) -> str:
        stats = self.store.stats
        p95 = sorted(self.ingest_s)[int(len(self.ingest_s) * 0.95) - 1] if self.ingest_s else float("nan")
        return (f"store: {stats.cycles} cycles, {stats.values:,} values ingested, {stats.intervals} intervals and "
                f"{stats.deltas} deltas written; ingest per cycle median "
                f"{statistics.median(self.ingest_s) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")

    async def close(self) -> None:
        await self.store.flush(datetime.now(UTC))
        await self.engine.dispose()  # type: ignore[attr-defined]
        self.directory.cleanup()
