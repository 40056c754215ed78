"""The player's heartbeats, at shift start a thousand members' every few seconds: written in batches.

The beat key (bot/training/signed.py) already says whose view it is, so there is no cookie or user lookup. Beats
that arrive while a batch is being written wait for the next one (nothing waits on a timer: an idle server writes
a lone beat at once). A batch, on the engine's connection with no ORM bookkeeping: one joined SELECT of the views'
anchors and the members' progress, the counting in Python in arrival order, one UPDATE of the progress rows and
one executemany UPDATE of the views. On SQLite (one writer) that is one transaction. On PostgreSQL, where round
trips are what a beat waits for, there is no transaction: the progress rows are written by one statement
conditional on the `played_s` each had when read, so a row another replica changed in between is not
overwritten; those beats go round again with a fresh read. Under load a batch grows, so the round trips per beat
shrink exactly when they matter. Completion (rare) also sets the assignment's `completed_at`."""
from __future__ import annotations

import asyncio
import contextlib
import json
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.models.training import TrainingAssignment, TrainingProgress, TrainingView
from bot.training import progress as watch
from bot.training.catalog import Catalog
from bot.training.errors import TrainingRefused
from bot.training.settings import TrainingSettings
from bot.training.signed import BeatKey

V, P = TrainingView, TrainingProgress
MAX_BATCH = 128
READ = (select(V.id.label("view_id"), V.user_id, V.code, V.version, V.anchor_s, V.anchor_at, P.id, P.played,
               P.played_s, P.quiz_passed, P.completed_at)
        .select_from(V).join(P, and_(P.user_id == V.user_id, P.code == V.code, P.version == V.version))
        .where(V.id.in_(bindparam("b_views", expanding=True))).order_by(P.id))
# PostgreSQL writes a batch's progress rows in one statement (no transaction: the condition on played_s is the
# guard, and a lagging view anchor after a crash between statements only recounts a stretch already merged).
PG_WRITE_PROGRESS = text(
    "UPDATE training_progress AS t SET played = CAST(n.played AS json), played_s = n.played_s, "
    "position_s = n.position_s, updated_at = n.updated_at, completed_at = n.completed_at "
    "FROM unnest(CAST(:ids AS integer[]), CAST(:was AS float8[]), CAST(:played AS text[]), "
    "CAST(:played_s AS float8[]), CAST(:position_s AS float8[]), CAST(:updated_at AS timestamptz[]), "
    "CAST(:completed_at AS timestamptz[])) AS n(id, was, played, played_s, position_s, updated_at, completed_at) "
    "WHERE t.id = n.id AND t.played_s = n.was RETURNING t.id")
MAX_ROUNDS = 5  # a beat whose row keeps changing under it (another replica) is refused after this many reads
MOVE_ANCHOR = (update(V).where(V.id == bindparam("b_view_id"))
               .values(anchor_s=bindparam("b_anchor_s"), anchor_at=bindparam("b_now"),
                       watched_s=V.watched_s + bindparam("b_gained")))
WRITE_PROGRESS = (update(P).where(P.id == bindparam("b_progress_id"))
                  .values(played=bindparam("b_played"), played_s=bindparam("b_played_s"),
                          position_s=bindparam("b_position_s"), updated_at=bindparam("b_now"),
                          completed_at=bindparam("b_completed_at")))
COMPLETE_ASSIGNMENT = (update(TrainingAssignment)
                       .where(TrainingAssignment.user_id == bindparam("b_user_id"),
                              TrainingAssignment.code == bindparam("b_code"),
                              TrainingAssignment.version == bindparam("b_version"),
                              TrainingAssignment.completed_at.is_(None))
                       .values(completed_at=bindparam("b_now")))


@dataclass(frozen=True)
class BeatResult:
    percent: int
    completed: bool
    counted_s: float


@dataclass
class Beat:
    key: BeatKey
    position_s: float
    seek: bool
    now: datetime
    settings: TrainingSettings
    catalog: Catalog
    engine: AsyncEngine
    rounds: int = 0
    done: asyncio.Future[BeatResult] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class BeatWriter:
    """One per engine: beats queue here and a short-lived task writes whatever is waiting, batch by batch. It
    keeps no reference to the engine (the beats carry it), so a disposed engine's writer goes with it."""

    def __init__(self) -> None:
        self.waiting: list[Beat] = []
        self.task: asyncio.Task[None] | None = None
        self.batches = 0

    async def submit(self, beat: Beat) -> BeatResult:
        self.waiting.append(beat)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._drain(), name="training-beats")
        return await beat.done

    async def _drain(self) -> None:
        """Batch after batch on one connection while beats keep coming (no checkout and ping per batch)."""
        engine = self.waiting[0].engine
        try:
            async with engine.connect() as conn:
                if conn.dialect.name == "postgresql":  # each statement commits: see PG_WRITE_PROGRESS
                    conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                while self.waiting:
                    batch, self.waiting = self.waiting[:MAX_BATCH], self.waiting[MAX_BATCH:]
                    try:
                        results = await self._write(conn, batch)
                    except Exception as exc:  # noqa: BLE001 - the database failed: every beat of the batch hears it
                        results = [exc] * len(batch)
                    self.batches += 1
                    settled, again = [], []
                    for beat, result in zip(batch, results, strict=True):
                        if result is None and beat.rounds < MAX_ROUNDS:
                            beat.rounds += 1
                            again.append(beat)
                        else:
                            settled.append((beat, TrainingRefused("no_view", 409) if result is None else result))
                    self.waiting[:0] = again
                    _settle(settled)
        except Exception as exc:  # noqa: BLE001 - no connection at all: whoever is waiting hears it
            batch, self.waiting = self.waiting, []
            _settle([(beat, exc) for beat in batch])

    async def _write(self, conn: AsyncConnection, batch: list[Beat]) -> list[BeatResult | BaseException | None]:
        """Each beat's outcome; None for a beat whose progress row another writer changed since it was read
        (PostgreSQL only: another replica), which goes round again with a fresh read."""
        postgres = conn.dialect.name == "postgresql"
        async with contextlib.nullcontext() if postgres else conn.begin():
            rows = {r.view_id: r._asdict() for r in await conn.execute(READ, {"b_views": sorted(
                {b.key.view_id for b in batch})})}
            progress: dict[int, dict[str, Any]] = {}  # progress id -> its state as this batch leaves it
            views: dict[int, dict[str, Any]] = {}
            completed: dict[int, dict[str, Any]] = {}
            results: list[BeatResult | BaseException | None] = []
            for beat in batch:
                try:
                    results.append(_count(beat, rows.get(beat.key.view_id), progress, views, completed))
                except TrainingRefused as exc:
                    results.append(exc)
            if not progress:
                return results
            written = await _write_progress_pg(conn, progress) if postgres else set(progress)
            if not postgres:
                await conn.execute(WRITE_PROGRESS, list(progress.values()))
            moved = [{k: v for k, v in view.items() if k != "pid"} for view in views.values() if view["pid"] in written]
            if moved:
                await conn.execute(MOVE_ANCHOR, moved)
            if done := [row for pid, row in completed.items() if pid in written]:
                await conn.execute(COMPLETE_ASSIGNMENT, done)
        return [None if isinstance(r, BeatResult) and rows[b.key.view_id]["id"] not in written else r
                for b, r in zip(batch, results, strict=True)]


async def _write_progress_pg(conn: AsyncConnection, progress: dict[int, dict[str, Any]]) -> set[int]:
    """One statement for the whole batch, conditional on the `played_s` each row had when read: the ids written."""
    states = list(progress.values())
    found = await conn.execute(PG_WRITE_PROGRESS, {
        "ids": [s["b_progress_id"] for s in states], "was": [s["was"] for s in states],
        "played": [json.dumps(s["b_played"]) for s in states], "played_s": [s["b_played_s"] for s in states],
        "position_s": [s["b_position_s"] for s in states], "updated_at": [s["b_now"] for s in states],
        "completed_at": [s["b_completed_at"] for s in states]})
    return {row[0] for row in found}


def _settle(outcomes: list[tuple[Beat, BeatResult | BaseException]]) -> None:
    for beat, result in outcomes:
        if beat.done.done():
            continue  # the request went away
        if isinstance(result, BaseException):
            beat.done.set_exception(result)
        else:
            beat.done.set_result(result)


def _count(beat: Beat, row: dict[str, Any] | None, progress: dict[int, dict[str, Any]],
           views: dict[int, dict[str, Any]], completed: dict[int, dict[str, Any]]) -> BeatResult:
    """Counts the stretch since the view's last heartbeat if it was played at the pace of time (progress.py)."""
    key, item = beat.key, beat.catalog.get(beat.key.code)
    if (row is None or row["user_id"] != key.user_id or row["code"] != key.code or row["version"] != key.version
            or item is None or item.version != key.version):
        raise TrainingRefused("no_view", 409)
    state = progress.setdefault(row["id"], {
        "b_progress_id": row["id"], "b_played": row["played"] or [], "b_played_s": row["played_s"] or 0.0,
        "b_completed_at": row["completed_at"], "b_position_s": 0.0, "b_now": beat.now, "was": row["played_s"]})
    view = views.setdefault(key.view_id, {"b_view_id": key.view_id, "b_anchor_s": row["anchor_s"],
                                          "b_now": row["anchor_at"], "b_gained": 0.0, "pid": row["id"]})
    position = min(max(0.0, beat.position_s), item.duration_s)
    elapsed = (beat.now - view["b_now"]).total_seconds() if view["b_now"] else 0.0
    gained = 0.0 if beat.seek else watch.counted(view["b_anchor_s"], elapsed, position)
    before = state["b_played_s"]
    if gained > 0:
        state["b_played"] = watch.merge(state["b_played"], view["b_anchor_s"], position)
        state["b_played_s"] = watch.total(state["b_played"])
    view.update(b_anchor_s=position, b_now=beat.now, b_gained=view["b_gained"] + gained)
    state.update(b_position_s=0.0 if position >= item.duration_s - 0.5 else position, b_now=beat.now)
    pct = watch.percent(state["b_played_s"], item.duration_s)
    if (state["b_completed_at"] is None and pct >= beat.settings.complete_percent
            and (item.quiz is None or row["quiz_passed"])):
        state["b_completed_at"] = beat.now
        completed[row["id"]] = {"b_user_id": key.user_id, "b_code": key.code, "b_version": key.version,
                                "b_now": beat.now}
    return BeatResult(pct, state["b_completed_at"] is not None, state["b_played_s"] - before)


_writers: weakref.WeakKeyDictionary[Engine, BeatWriter] = weakref.WeakKeyDictionary()


async def record_beat(engine: AsyncEngine, settings: TrainingSettings, catalog: Catalog, key: BeatKey,
                      position_s: float, *, seek: bool, now: datetime) -> BeatResult:
    """The heartbeat's outcome once its batch is committed; TrainingRefused for a view that is not the key's."""
    writer = _writers.get(engine.sync_engine)
    if writer is None:
        writer = _writers[engine.sync_engine] = BeatWriter()
    return await writer.submit(Beat(key, position_s, seek, now, settings, catalog, engine))
