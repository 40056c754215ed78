"""The long-lived side of equipment: one collector task per endpoint feeding one store, plus the andon hook.

Started (idempotently) by the `equipment_poll` job, so it runs wherever the scheduler runs; kept in
`services.equipment`. Run it on one replica only (`[jobs.equipment_poll] enabled = false` on the
others): the store is the single writer of its machines' intervals.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.equipment import andon
from bot.equipment.cards import Notifier
from bot.equipment.settings import EquipmentSettings
from bot.equipment.storage import EquipmentStore, Track
from bot.models.equipment import MachineState
from integrations.opcua import EndpointCollector, ReadCycle

log = logging.getLogger(__name__)


class EquipmentRuntime:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: EquipmentSettings,
                 notifier: Notifier | None, clock: Callable[[], datetime],
                 wakeup: asyncio.Event | None = None, flush_s: float = 60.0) -> None:
        self.settings, self.notifier, self.clock, self.wakeup = settings, notifier, clock, wakeup
        self.store = EquipmentStore(sessions, settings, flush_s=flush_s, after_cycle=self._after_cycle)
        self.collectors: list[EndpointCollector] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self._settled: set[int] = set()
        self._wake = False

    @property
    def running(self) -> bool:
        return bool(self._tasks) and not all(task.done() for task in self._tasks)

    async def start(self) -> None:
        if self.running:
            return
        if self._tasks:  # a crashed runtime: start over (counts resume from the database cursors)
            await self.stop()
        await self.store.load()
        self._stop.clear()
        for endpoint in self.settings.endpoint_configs():
            tags = [tag for m in self.settings.machines_of(endpoint.name) for tag in m.tag_refs()]
            collector = EndpointCollector(endpoint, tags, clock=self.clock)
            self.collectors.append(collector)
            self._tasks.append(asyncio.create_task(collector.run(self.consume, self._stop),
                                                   name=f"equipment-{endpoint.name}"))
        log.info("equipment: collecting %d machines from %d endpoints", len(self.store.tracks), len(self._tasks))

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=10)
        for collector in self.collectors:
            await collector.close()
        await self.store.flush(self.clock())
        self._tasks, self.collectors = [], []

    async def consume(self, cycle: ReadCycle) -> None:
        """Store one cycle; wake the outbox sender when an alert was queued."""
        self._wake = False
        await self.store.ingest(cycle)
        if self._wake and self.wakeup is not None:
            self.wakeup.set()

    async def _after_cycle(self, session: AsyncSession, tracks: list[Track], now: datetime) -> None:
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
