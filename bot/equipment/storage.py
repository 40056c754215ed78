"""Turns ReadCycles into state intervals and counter deltas; a cycle that changes nothing writes nothing.

One store serves the machines of one or more endpoints and must be the only writer for them (one collector
process). Counts are accumulated in memory and written per state interval, at least every `flush_s`; the
database cursor only moves when a delta is written, so a crash loses no parts: the next read's delta
covers the gap.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.equipment.counting import MachineReading, Parts, parts_between, read_machine
from bot.equipment.settings import EquipmentSettings, MachineSettings
from bot.models import Machine
from bot.models.equipment import CounterCursor, CounterDelta, MachineState
from integrations.opcua import ReadCycle

log = logging.getLogger(__name__)
# Called inside the cycle's transaction after the rows are written: (session, tracks changed, now).
AfterCycle = Callable[[AsyncSession, list["Track"], datetime], Awaitable[None]]


@dataclass
class Track:
    """What the store remembers about one machine between cycles."""

    settings: MachineSettings
    machine_id: int
    line_id: int
    open_id: int | None = None
    state: str | None = None
    since: datetime | None = None
    reason: str | None = None
    left_down: bool = False  # this cycle closed a down interval
    counters: dict[str, int] | None = None  # latest trusted reading
    read_at: datetime | None = None
    saved_at: datetime | None = None  # when the cursor row was last written
    pending: Parts | None = None
    pending_since: datetime | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    loaded: bool = False


@dataclass
class IngestStats:
    cycles: int = 0
    values: int = 0
    intervals: int = 0
    deltas: int = 0


class EquipmentStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: EquipmentSettings, *,
                 flush_s: float = 60.0, after_cycle: AfterCycle | None = None) -> None:
        self.sessions, self.settings, self.flush_s, self.after_cycle = sessions, settings, flush_s, after_cycle
        self.tracks: dict[str, Track] = {}
        self.missing: list[str] = []
        self.stats = IngestStats()
        self._cursors: list[dict[str, Any]] = []
        self._cursor_ids: set[int] = set()
        self._reload = False
        self._missing_checked_at: datetime | None = None

    async def load(self) -> None:
        """Map configured machines to master data and pick up open intervals and cursors."""
        self.tracks, self._cursors, self._cursor_ids, self._reload = {}, [], set(), False
        codes = [m.code for m in self.settings.machines]
        self.tracks = await self._load_tracks(codes)
        self.missing = [code for code in codes if code not in self.tracks]
        if self.missing:
            log.warning("equipment: machines not in master data, not recorded yet: %s", ", ".join(self.missing))

    async def _pick_up_new_machines(self, at: datetime) -> None:
        """Configured machines missing from master data are looked up again every `master_data_recheck_s`, so a
        machine imported while the collectors run is recorded from then on, without a restart."""
        recheck = timedelta(seconds=self.settings.master_data_recheck_s)
        if not self.missing or (self._missing_checked_at is not None and at - self._missing_checked_at < recheck):
            return
        self._missing_checked_at = at
        found = await self._load_tracks(self.missing)
        if found:
            self.tracks.update(found)
            self.missing = [code for code in self.missing if code not in found]
            log.info("equipment: machines now in master data, recording: %s", ", ".join(sorted(found)))

    async def _load_tracks(self, codes: list[str]) -> dict[str, Track]:
        tracks: dict[str, Track] = {}
        async with self.sessions() as session:
            rows = (await session.execute(select(Machine.code, Machine.id, Machine.line_id)
                                          .where(Machine.code.in_(codes)))).all()
            known = {code: (mid, line) for code, mid, line in rows}
            ids = [mid for mid, _ in known.values()]
            opens = {s.machine_id: s for s in (await session.scalars(
                select(MachineState).where(MachineState.machine_id.in_(ids), MachineState.end_at.is_(None))
                .order_by(MachineState.start_at)))}
            cursors = {c.machine_id: c for c in (await session.scalars(
                select(CounterCursor).where(CounterCursor.machine_id.in_(ids))))}
        for machine in self.settings.machines:
            if machine.code not in known or machine.code not in codes:
                continue
            mid, line = known[machine.code]
            track = Track(machine, mid, line)
            if (row := opens.get(mid)) is not None:
                track.open_id, track.state, track.since, track.reason = row.id, row.state, row.start_at, row.reason_code
            if (cursor := cursors.get(mid)) is not None:
                values = {"good": cursor.good, "total": cursor.total, "scrap": cursor.scrap}
                track.counters = {k: v for k, v in values.items() if v is not None} or None
                track.read_at = track.saved_at = cursor.read_at
                self._cursor_ids.add(mid)
            tracks[machine.code] = track
        return tracks

    async def ingest(self, cycle: ReadCycle) -> list[Track]:
        """Record one cycle; returns the tracks of its machines (state and since are current)."""
        if self._reload:
            await self.load()
        await self._pick_up_new_machines(cycle.at)
        tracks = [self.tracks[m.code] for m in self.settings.machines_of(cycle.endpoint) if m.code in self.tracks]
        self.stats.cycles += 1
        self.stats.values += sum(1 for v in cycle.values.values() if v.good)
        writes: list[tuple[Track, MachineReading]] = []
        for track in tracks:
            reading = read_machine(cycle, track.settings, self.settings)
            track.extras = reading.extras
            if self._needs_write(track, reading, cycle.at):
                writes.append((track, reading))
        if not writes and not any(t.state == "down" for t in tracks):
            return tracks
        try:
            async with self.sessions.begin() as session:
                for track, reading in writes:
                    await self._write(session, track, reading, cycle.at)
                await self._write_cursors(session)
                if self.after_cycle is not None:
                    await self.after_cycle(session, tracks, cycle.at)
        except BaseException:
            # Memory is now ahead of the database: start again from the database (cursors lose no parts).
            self._reload = True
            raise
        for track in tracks:
            track.left_down = False
        return tracks

    async def flush(self, at: datetime) -> None:
        """Write pending counts (on shutdown)."""
        async with self.sessions.begin() as session:
            for track in self.tracks.values():
                if track.pending is not None:
                    self._flush_parts(session, track, at)
            await self._write_cursors(session)

    def _needs_write(self, track: Track, reading: MachineReading, at: datetime) -> bool:
        """Updates counters in memory; True when this machine has rows to write this cycle."""
        write = not track.loaded or reading.state != track.state or (
            reading.state == "down" and reading.reason_code and reading.reason_code != track.reason)
        if reading.counters is not None:
            parts = parts_between(track.counters, reading.counters, track.settings.counter_max)
            if parts is not None:
                if parts.good or parts.scrap or parts.kind != "normal":
                    self._add_parts(track, parts)
                track.counters, track.read_at = reading.counters, at
                write = write or parts.kind != "normal"
            elif all(0 <= v <= track.settings.counter_max for v in reading.counters.values()):
                track.counters, track.read_at = reading.counters, at  # a first reading: the baseline
                write = write or track.saved_at is None
        stale = track.saved_at is None or at - track.saved_at >= timedelta(seconds=self.flush_s)
        return write or (stale and reading.state != "unknown")

    def _add_parts(self, track: Track, parts: Parts) -> None:
        if track.pending is None:
            track.pending, track.pending_since = parts, track.read_at
            return
        kind = parts.kind if parts.kind != "normal" else track.pending.kind
        track.pending = Parts(track.pending.good + parts.good, track.pending.scrap + parts.scrap, kind)

    async def _write(self, session: AsyncSession, track: Track, reading: MachineReading, at: datetime) -> None:
        if not track.loaded:
            track.loaded = True
            gap_from = track.saved_at
            silent = gap_from is not None and at - gap_from > timedelta(seconds=self.settings.stale_after_s
                                                                      + self.flush_s)
            if track.open_id is not None and silent and track.state != "unknown":
                assert gap_from is not None
                await self._transition(session, track, "unknown", None, None, max(gap_from, track.since or gap_from))
        if reading.state != track.state:
            self._flush_parts(session, track, at)
            await self._transition(session, track, reading.state, reading.raw_state, reading.reason_code, at)
        elif reading.reason_code and reading.reason_code != track.reason and track.open_id is not None:
            await session.execute(update(MachineState).where(MachineState.id == track.open_id)
                                  .values(reason_code=reading.reason_code))
            track.reason = reading.reason_code
        if track.pending is not None and (track.pending.kind != "normal" or track.saved_at is None
                                          or at - track.saved_at >= timedelta(seconds=self.flush_s)):
            self._flush_parts(session, track, at)
        elif track.saved_at is None or at - track.saved_at >= timedelta(seconds=self.flush_s):
            self._save_cursor(track, at)

    async def _transition(self, session: AsyncSession, track: Track, state: str, raw: str | None,
                          reason: str | None, at: datetime) -> None:
        if track.open_id is not None:
            await session.execute(update(MachineState).where(MachineState.id == track.open_id)
                                  .values(end_at=at))
            track.left_down = track.left_down or track.state == "down"
        row = MachineState(machine_id=track.machine_id, state=state, start_at=at, reason_code=reason,
                           source="opcua", raw_state=raw)
        session.add(row)
        await session.flush()
        track.open_id, track.state, track.since, track.reason = row.id, state, at, reason
        self.stats.intervals += 1

    def _flush_parts(self, session: AsyncSession, track: Track, at: datetime) -> None:
        if track.pending is not None:
            parts, start = track.pending, track.pending_since or at
            session.add(CounterDelta(machine_id=track.machine_id, start_at=start, end_at=track.read_at or at,
                                     good=parts.good, scrap=parts.scrap, kind=parts.kind, source="opcua"))
            track.pending = track.pending_since = None
            self.stats.deltas += 1
        self._save_cursor(track, at)

    def _save_cursor(self, track: Track, at: datetime) -> None:
        """Queue the cursor row; counts up to `counters` are all written by now (pending is empty)."""
        track.saved_at = at
        values = track.counters or {}
        self._cursors.append({"machine_id": track.machine_id, "good": values.get("good"),
                              "total": values.get("total"), "scrap": values.get("scrap"), "read_at": at})

    async def _write_cursors(self, session: AsyncSession) -> None:
        rows, self._cursors = self._cursors, []
        new = [r for r in rows if r["machine_id"] not in self._cursor_ids]
        old = [r for r in rows if r["machine_id"] in self._cursor_ids]
        if old:
            await session.execute(update(CounterCursor), old)
        if new:
            session.add_all(CounterCursor(**r) for r in new)
            await session.flush()
            self._cursor_ids.update(r["machine_id"] for r in new)
