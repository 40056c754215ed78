"""One collector per OPC UA endpoint: batched reads of all its tags, reconnects, first failure logged once."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from itertools import chain

from asyncua import Client, Node
from asyncua.client.ua_client import UaClientState

from .config import EndpointConfig, TagRef
from .connection import build_client, read_limits
from .const import (
    DISCONNECT_TIMEOUT_S,
    MAX_MONITORED_ITEMS_PER_CALL,
    MAX_NODES_PER_READ,
    MAX_NODES_PER_TRANSLATE,
    RECONNECT_INITIAL_S,
    RECONNECT_MAX_S,
)
from .errors import OpcUaError, describe, translated
from .noderef import NodeRef, parse_node_ref
from .resolve import resolve_tags
from .subscribe import SubscriptionFeed
from .values import ReadCycle, TagValue, bad_value, tag_value, utcnow

_LOGGER = logging.getLogger(__name__)


@dataclass
class _Session:
    """Everything that is only valid for one connection (node ids may change when the server restarts)."""

    client: Client
    keys: list[str]
    chunks: list[list[Node]]
    chunk_size: int
    unresolved: dict[str, TagValue]
    feed: SubscriptionFeed | None = None


class EndpointCollector:
    """Reads all tags of one endpoint per cycle and hands each ReadCycle to one callback."""

    def __init__(
        self, config: EndpointConfig, tags: list[TagRef], *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.config = config
        self._clock = clock
        self._refs: dict[str, NodeRef] = {}
        for tag in tags:
            if tag.key in self._refs:
                raise ValueError(f"{config.name}: duplicate tag key {tag.key!r}")
            self._refs[tag.key] = parse_node_ref(tag.node)
        self._session: _Session | None = None
        self._lost = asyncio.Event()
        self._attempted = asyncio.Event()
        self._disposals: set[asyncio.Task[None]] = set()
        self._last_update_success = False
        self._failure_logged = False
        self._last_error: str | None = None
        self.missed_cycles = 0

    @property
    def last_update_success(self) -> bool:
        """Whether the latest cycle (or connect attempt) succeeded."""
        return self._last_update_success

    @property
    def last_error(self) -> str | None:
        """The latest failure, kept after recovery for diagnostics."""
        return self._last_error

    @property
    def connected(self) -> bool:
        """Whether a session is currently established."""
        return self._session is not None

    @property
    def chunk_size(self) -> int | None:
        """Nodes per ReadRequest on the current connection (the server's MaxNodesPerRead)."""
        return self._session.chunk_size if self._session else None

    async def connect(self) -> None:
        """Open a session, resolve node refs (again: namespaces may be renumbered), read operation limits."""
        self._drop(self._session, None)
        try:  # loading certificates (and fetching the server's) can fail before any session exists
            with translated(f"connect to {self.config.url}"):
                client = await build_client(self.config)
        except OpcUaError as exc:
            self._last_error = str(exc)
            raise
        try:
            with translated(f"connect to {self.config.url}"):
                await client.connect()
            read_max, items_max, translate_max = await read_limits(
                client, [MAX_NODES_PER_READ, MAX_MONITORED_ITEMS_PER_CALL, MAX_NODES_PER_TRANSLATE]
            )
            resolution = await resolve_tags(client, self._refs, translate_chunk=translate_max)
            keys = list(resolution.nodeids)
            nodes = [client.get_node(resolution.nodeids[key]) for key in keys]
            session = _Session(
                client=client,
                keys=keys,
                chunks=[nodes[i : i + read_max] for i in range(0, len(nodes), read_max)],
                chunk_size=read_max,
                unresolved={key: bad_value(key, status) for key, status in resolution.unresolved.items()},
            )
            if self.config.mode == "subscribe":
                session.feed = await SubscriptionFeed.start(
                    client,
                    keys,
                    nodes,
                    interval_s=self.config.interval_s,
                    read_chunk=read_max,
                    items_chunk=items_max,
                )
        except BaseException as exc:
            if isinstance(exc, OpcUaError):
                self._last_error = str(exc)
            self._dispose_later(client)
            raise
        client.connection_lost_callback = self._make_loss_callback(session)
        self._session = session
        self._attempted.set()

    async def read_once(self) -> ReadCycle:
        """One cycle: a batched Value read per chunk; never raises for a bad tag or a lost connection."""
        at, started = self._clock(), time.monotonic()
        session = self._session
        if session is None:
            return self._finish(at, started, {}, self._last_error or "not connected")
        if session.feed is not None:
            latest = {**session.unresolved, **session.feed.latest}
            return self._finish(at, started, {key: latest[key] for key in self._refs if key in latest}, None)
        try:
            with translated("read"):
                reads = [session.client.read_attributes(part) for part in session.chunks]
                answers = await asyncio.gather(*reads)
        except OpcUaError as exc:
            self._drop(session, str(exc))
            return self._finish(at, started, {}, str(exc))
        values = dict(session.unresolved)
        for key, answer in zip(session.keys, chain.from_iterable(answers), strict=True):
            values[key] = tag_value(key, answer)
        return self._finish(at, started, {key: values[key] for key in self._refs}, None)

    async def run(self, on_cycle: Callable[[ReadCycle], Awaitable[None]], stop: asyncio.Event) -> None:
        """Emit a cycle every interval_s until stop is set, reconnecting in the background with backoff."""
        keeper = asyncio.create_task(self._keep_connected(stop), name=f"opcua-connect-{self.config.name}")
        try:
            await _wait_any(self._attempted, stop)
            interval = self.config.interval_s
            next_at = time.monotonic()
            while not stop.is_set():
                cycle = await self.read_once()
                try:
                    await on_cycle(cycle)
                except Exception:
                    _LOGGER.exception("%s: cycle consumer failed", self.config.name)
                next_at += interval
                late = time.monotonic() - next_at
                if late >= interval:
                    skipped = int(late // interval)
                    self.missed_cycles += skipped
                    next_at += skipped * interval
                await _wait_any(stop, timeout=max(0.0, next_at - time.monotonic()))
        finally:
            keeper.cancel()
            with suppress(asyncio.CancelledError):
                await keeper

    async def close(self) -> None:
        """Close the session and wait for clients being torn down."""
        self._drop(self._session, None)
        if self._disposals:
            await asyncio.gather(*self._disposals, return_exceptions=True)

    async def _keep_connected(self, stop: asyncio.Event) -> None:
        delay = RECONNECT_INITIAL_S
        while not stop.is_set():
            if self._session is not None:
                self._lost.clear()
                await _wait_any(self._lost, stop)
                continue
            try:
                await self.connect()
            except Exception as exc:  # an unexpected error must not end reconnecting
                self._note(ok=False, error=str(exc) if isinstance(exc, OpcUaError) else describe(exc))
                self._attempted.set()
                await _wait_any(stop, timeout=delay)
                delay = min(delay * 2, RECONNECT_MAX_S)
            else:
                _LOGGER.debug("%s: connected, %d tags", self.config.name, len(self._refs))
                self._attempted.set()
                delay = RECONNECT_INITIAL_S

    def _make_loss_callback(self, session: _Session) -> Callable[[Exception], Awaitable[None]]:
        async def lost(exc: Exception) -> None:
            self._drop(session, f"connection lost: {exc}")

        return lost

    def _drop(self, session: _Session | None, error: str | None) -> None:
        """Forget a failed session (later cycles report ok=False) and wake the reconnect loop."""
        if session is None or session is not self._session:
            return
        self._session = None
        if error is not None:
            self._last_error = error
        self._lost.set()
        self._dispose_later(session.client)

    def _dispose_later(self, client: Client) -> None:
        task = asyncio.get_running_loop().create_task(_dispose(client))
        self._disposals.add(task)
        task.add_done_callback(self._disposals.discard)

    def _finish(
        self, at: datetime, started: float, values: dict[str, TagValue], error: str | None
    ) -> ReadCycle:
        self._note(ok=error is None, error=error)
        return ReadCycle(
            endpoint=self.config.name,
            at=at,
            ok=error is None,
            values=values,
            error=error,
            duration_s=time.monotonic() - started,
        )

    def _note(self, *, ok: bool, error: str | None) -> None:
        """Track availability; log the first failure and the recovery once each."""
        self._last_update_success = ok
        if ok and self._failure_logged:
            self._failure_logged = False
            _LOGGER.info("%s: collecting again from %s", self.config.name, self.config.url)
        elif not ok:
            self._last_error = error
            if not self._failure_logged:
                self._failure_logged = True
                _LOGGER.warning("%s: cannot collect: %s", self.config.name, error)


async def _dispose(client: Client) -> None:
    """Close a client without asyncua logging tracebacks for an already dead connection."""
    try:
        if client.state is UaClientState.CONNECTED:
            await asyncio.wait_for(client.disconnect(), DISCONNECT_TIMEOUT_S)
        else:
            await asyncio.wait_for(client.close_session(), DISCONNECT_TIMEOUT_S)
    except Exception:
        _LOGGER.debug("ignored error while closing %s", client, exc_info=True)
    finally:
        client.disconnect_socket()


async def _wait_any(*events: asyncio.Event, timeout: float | None = None) -> None:
    """Return when any event is set or the timeout passes."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
