"""The long-lived side of equipment: one collector task per owned endpoint feeding one store, plus the andon hook.

Started (idempotently) by the `equipment_poll` job on every replica, kept in `services.equipment`. With
`leases` (the app always passes them, SQLite or PostgreSQL) each endpoint is collected only by the replica that
holds its lease (bot/equipment/leases.py): a lease loop renews them every `renew_s`, takes endpoints whose owner
died, records the owner's silence as `unknown`, and hands endpoints to new replicas until they spread evenly.
Every write transaction of the store carries the lease fence. Without `leases` (tests that drive the store by
hand) the runtime is the sole, unfenced writer of every endpoint.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import metrics
from bot.equipment import andon
from bot.equipment.cards import Notifier
from bot.equipment.leases import LeaseLost, LeaseManager, LeaseSettings, Taken, fair_share
from bot.equipment.settings import EquipmentSettings
from bot.equipment.storage import EquipmentStore, Track
from bot.models import Machine
from bot.models.equipment import MachineState
from integrations.opcua import EndpointCollector, ReadCycle

log = logging.getLogger(__name__)


class EquipmentRuntime:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: EquipmentSettings,
                 notifier: Notifier | None, clock: Callable[[], datetime],
                 wakeup: asyncio.Event | None = None, flush_s: float = 60.0,
                 leases: LeaseSettings | None = None, replica: str | None = None) -> None:
        self.sessions, self.settings, self.notifier = sessions, settings, notifier
        self.clock, self.wakeup = clock, wakeup
        self.store = EquipmentStore(sessions, settings, flush_s=flush_s, after_cycle=self._after_cycle)
        self.leases = LeaseManager(sessions, leases, clock, replica) if leases is not None else None
        self.collectors: dict[str, EndpointCollector] = {}
        self._tasks: dict[str, tuple[asyncio.Task[None], asyncio.Event]] = {}
        self._loop: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._ticking = asyncio.Lock()  # the loop's rounds and a caller's (tests, start) never interleave
        self._ingest = asyncio.Lock()  # one cycle at a time: a reload must never interleave with a write
        self._settled: set[int] = set()
        self._drops: set[asyncio.Future[None]] = set()
        self._wake = False

    @property
    def running(self) -> bool:
        if self.leases is not None:
            return self._loop is not None and not self._loop.done()
        return bool(self._tasks) and not all(task.done() for task, _ in self._tasks.values())

    @property
    def owned(self) -> list[str]:
        """Endpoints this replica collects now."""
        return sorted(self._tasks)

    async def start(self) -> None:
        if self.running:
            return
        if self._tasks or self._loop is not None:  # a crashed runtime: start over (counts resume from cursors)
            await self.stop()
        await self.store.load()
        self._stop.clear()
        if self.leases is None:
            for endpoint in self.settings.endpoint_configs():
                self._start_collector(endpoint.name)
        else:
            await self.lease_tick()  # a lone replica collects from its first second
            self._loop = asyncio.create_task(self._lease_loop(), name="equipment-leases")
        log.info("equipment: collecting %d machines, endpoints %s", len(self.store.tracks), ", ".join(self.owned))

    async def stop(self) -> None:
        """Stop collecting; the counts still pending are written (fenced) and the leases given up at once."""
        self._stop.set()
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._loop
            self._loop = None
        for endpoint in list(self._tasks):
            await self._stop_collector(endpoint, flush=True)
        if self.leases is not None:
            with contextlib.suppress(Exception):
                await self.leases.leave(self.clock())
            metrics.lease_owned(self.leases.replica, [e.name for e in self.settings.endpoint_configs()], set())

    async def lease_tick(self) -> None:
        """One round: heartbeat, renew, drop what was lost, give up what is beyond the fair share, take the rest."""
        assert self.leases is not None
        async with self._ticking:
            await self._lease_round(self.leases)

    async def _lease_round(self, leases: LeaseManager) -> None:
        now = self.clock()
        live = await leases.heartbeat(now)
        for endpoint in await leases.renew(now):
            await self._stop_collector(endpoint, flush=False)
        names = [e.name for e in self.settings.endpoint_configs()]
        share = fair_share(len(names), live)
        held = sorted(leases.held, key=leases.preference)
        for endpoint in held[share:]:
            await self._stop_collector(endpoint, flush=True)
            await leases.release(endpoint, self.clock())
        for endpoint in sorted(set(names) - set(leases.held), key=leases.preference):
            if len(leases.held) >= share:
                break
            taken = await leases.acquire(endpoint, now)
            if taken is not None:
                await self._take(taken, now)
        metrics.lease_owned(leases.replica, names, set(leases.held))

    async def _lease_loop(self) -> None:
        assert self.leases is not None
        while not self._stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.leases.settings.renew_s)
            if self._stop.is_set():
                return
            try:
                await self.lease_tick()
            except Exception:  # noqa: BLE001 - the database may be away a moment; the fence keeps writes safe
                log.exception("equipment: lease round failed")

    async def _take(self, taken: Taken, now: datetime) -> None:
        """A new endpoint: record the previous owner's silence as unknown, reload from the database, collect."""
        async with self._ingest:
            try:
                if taken.gap_from is not None:
                    await self._record_gap(taken, now)
                await self.store.load()
            except LeaseLost:
                return
        self._start_collector(taken.endpoint)

    async def _record_gap(self, taken: Taken, now: datetime) -> None:
        """Intervals left open by a dead owner end at its last sign of life; the time since is `unknown`."""
        assert self.leases is not None and taken.gap_from is not None
        codes = [m.code for m in self.settings.machines_of(taken.endpoint)]
        async with self.sessions.begin() as session:
            await self.leases.fence(session, taken.endpoint, now)
            opens = (await session.scalars(select(MachineState).join(Machine, Machine.id == MachineState.machine_id)
                                           .where(Machine.code.in_(codes), MachineState.end_at.is_(None),
                                                  MachineState.source == "opcua"))).all()
            for row in opens:
                start = max(row.start_at, taken.gap_from)
                if row.state == "unknown" or not start < now:
                    continue
                if start == row.start_at:  # seen for no time at all: the whole interval is the silence
                    await session.execute(update(MachineState).where(MachineState.id == row.id)
                                          .values(state="unknown", reason_code=None, raw_state=None))
                    continue
                await session.execute(update(MachineState).where(MachineState.id == row.id).values(end_at=start))
                session.add(MachineState(machine_id=row.machine_id, state="unknown", start_at=start, source="opcua"))

    def _start_collector(self, endpoint: str) -> None:
        config = next(e for e in self.settings.endpoint_configs() if e.name == endpoint)
        tags = [tag for m in self.settings.machines_of(endpoint) for tag in m.tag_refs()]
        collector = EndpointCollector(config, tags, clock=self.clock)
        stop = asyncio.Event()
        self.collectors[endpoint] = collector
        self._tasks[endpoint] = (asyncio.create_task(collector.run(self.consume, stop), name=f"equipment-{endpoint}"),
                                 stop)

    async def _stop_collector(self, endpoint: str, *, flush: bool) -> None:
        entry, collector = self._tasks.pop(endpoint, None), self.collectors.pop(endpoint, None)
        if entry is not None:
            task, stop = entry
            stop.set()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=10)
        if collector is not None:
            await collector.close()
        if flush:
            with contextlib.suppress(LeaseLost):
                await self._flush(endpoint)

    async def _flush(self, endpoint: str) -> None:
        """Pending counts of one endpoint, written under its fence (a lost lease writes nothing)."""
        async with self._ingest:
            tracks = [t for t in self.store.tracks.values() if t.settings.endpoint == endpoint and t.pending]
            if not tracks and self.leases is not None:
                return
            if self.leases is None:
                await self.store.flush(self.clock())
                return
            at = self.clock()
            async with self.sessions.begin() as session:
                await self.leases.fence(session, endpoint, at)
                for track in tracks:
                    self.store._flush_parts(session, track, at)  # noqa: SLF001 - the store's fenced flush
                await self.store._write_cursors(session)  # noqa: SLF001

    async def consume(self, cycle: ReadCycle) -> None:
        """Store one cycle; wake the outbox sender when an alert was queued."""
        metrics.collector_cycle(cycle.endpoint, cycle.duration_s, cycle.ok,
                                getattr(self.collectors.get(cycle.endpoint), "missed_cycles", 0))
        async with self._ingest:
            if self.leases is not None and cycle.endpoint not in self.leases.held:
                return  # lost meanwhile: the new owner reads it
            self._wake = False
            try:
                await self.store.ingest(cycle)
            except LeaseLost:
                log.warning("equipment: %s taken over by another replica; this one stops writing it", cycle.endpoint)
                asyncio.get_running_loop().call_soon(self._drop_later, cycle.endpoint)
                return
        if self._wake and self.wakeup is not None:
            self.wakeup.set()

    def _drop_later(self, endpoint: str) -> None:
        """The collector's own task found the loss: stop it from outside that task."""
        task = asyncio.ensure_future(self._stop_collector(endpoint, flush=False))
        self._drops.add(task)
        task.add_done_callback(self._drops.discard)

    async def _after_cycle(self, session: AsyncSession, tracks: list[Track], now: datetime) -> None:
        if self.leases is not None:
            for endpoint in {t.settings.endpoint for t in tracks}:
                await self.leases.fence(session, endpoint, now)
        if self.notifier is None:
            return
        threshold = timedelta(seconds=self.settings.andon.threshold_s)
        for track in tracks:
            if track.left_down:
                await andon.on_recovered(session, track.machine_id, now)
            if (track.state == "down" and track.open_id is not None and track.open_id not in self._settled
                    and track.since is not None and now - track.since >= threshold):
                state = await session.get(MachineState, track.open_id)
                assert state is not None
                _, settled = await andon.raise_if_due(session, self.settings, self.notifier, state, now)
                if settled:
                    self._settled.add(track.open_id)
        self._wake = self._wake or bool(session.info.get("outbox_pending"))
