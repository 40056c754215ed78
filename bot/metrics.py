"""Prometheus metrics: every metric object lives here, and the instrumented places call one function each.

One registry per process (not prometheus_client's global one, so nothing else registers into ours). Counters
only grow; each replica exposes its own, and Prometheus sums them. Queue figures (outbox depth, age of the
oldest message) are read from the database when /metrics is scraped, because they are shared by all replicas.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = CONTENT_TYPE_LATEST

CALLBACKS = Counter("opsbot_callbacks", "WeCom callbacks by outcome (replied, empty, refused, apology)",
                    ["outcome"], registry=REGISTRY)
HANDLER_SECONDS = Histogram("opsbot_handler_seconds", "Server time of one callback, decrypted message to reply",
                            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8),
                            registry=REGISTRY)
OUTBOX_SENT = Counter("opsbot_outbox_messages", "Outbox messages handled by this replica's sender, by outcome",
                      ["outcome"], registry=REGISTRY)
OUTBOX_DEPTH = Gauge("opsbot_outbox_depth", "Outbox messages waiting (pending or being sent), all replicas",
                     ["status"], registry=REGISTRY)
OUTBOX_OLDEST = Gauge("opsbot_outbox_oldest_age_seconds", "Age of the oldest message still waiting",
                      registry=REGISTRY)
WECOM_ERRORS = Counter("opsbot_wecom_api_errors", "WeCom API calls answered with an error, by API and errcode",
                       ["api", "errcode"], registry=REGISTRY)
TOKEN_FETCHES = Counter("opsbot_wecom_token_fetches", "Access tokens and tickets fetched from WeCom by this replica",
                        ["kind"], registry=REGISTRY)
CYCLE_SECONDS = Histogram("opsbot_collector_cycle_seconds", "One OPC UA read cycle of an endpoint", ["endpoint"],
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5), registry=REGISTRY)
CYCLES = Counter("opsbot_collector_cycles", "OPC UA read cycles by endpoint and result", ["endpoint", "ok"],
                 registry=REGISTRY)
MISSED = Counter("opsbot_collector_missed_cycles", "Cycles skipped because the previous one ran late",
                 ["endpoint"], registry=REGISTRY)
LEASE_OWNED = Gauge("opsbot_collector_lease_owned", "1 where this replica owns the endpoint's collector lease",
                    ["endpoint", "replica"], registry=REGISTRY)
JOB_RUNS = Counter("opsbot_job_runs", "Job firings by outcome (ok, error, taken: another replica has the slot, "
                   "recovered: a missed slot run late, dropped: a missed slot no longer useful)",
                   ["job", "outcome"], registry=REGISTRY)

_missed_seen: dict[str, int] = {}


def callback(outcome: str, seconds: float | None = None) -> None:
    CALLBACKS.labels(outcome).inc()
    if seconds is not None:
        HANDLER_SECONDS.observe(seconds)


def outbox_outcome(outcome: str, count: int = 1) -> None:
    if count:
        OUTBOX_SENT.labels(outcome).inc(count)


def outbox_recorded(status: str | None) -> None:
    """An outcome the sender committed: sent, failed (given up), pending (a retry later)."""
    if status is not None:
        OUTBOX_SENT.labels({"pending": "retry"}.get(status, status)).inc()


def wecom_error(api: str, errcode: int | str) -> None:
    WECOM_ERRORS.labels(api.split("?", 1)[0].strip("/"), str(errcode)).inc()


def token_fetched(key: str) -> None:
    """`key` is the token store's (wecom:access_token:corp:agent): the kind is its second part."""
    TOKEN_FETCHES.labels(key.split(":")[1] if key.count(":") >= 1 else key).inc()


def collector_cycle(endpoint: str, seconds: float, ok: bool, missed_total: int) -> None:
    CYCLE_SECONDS.labels(endpoint).observe(seconds)
    CYCLES.labels(endpoint, "true" if ok else "false").inc()
    seen = _missed_seen.get(endpoint, 0)
    added = missed_total - seen if missed_total >= seen else missed_total  # a new collector starts at 0
    if added > 0:
        MISSED.labels(endpoint).inc(added)
    _missed_seen[endpoint] = missed_total


def lease_owned(replica: str, endpoints: Iterable[str], held: set[str]) -> None:
    for endpoint in endpoints:
        LEASE_OWNED.labels(endpoint, replica).set(1 if endpoint in held else 0)


def job_run(job: str, outcome: str) -> None:
    JOB_RUNS.labels(job, outcome).inc()


@dataclass
class MetricsSettings:
    """`[metrics]`: /metrics on its own listener (bind it to a private address) and/or behind a bearer token.

    With neither a port nor a token /metrics is not served at all, so a default install exposes nothing."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: no separate listener
    token: str = ""  # non-empty: /metrics on the main port too, for `Authorization: Bearer <token>`

    def validate(self) -> list[str]:
        problems = []
        if not 0 <= self.port <= 65535:
            problems.append(f"port: {self.port} is not a TCP port")
        if self.token and len(self.token) < 16:
            problems.append("token: at least 16 characters (it guards /metrics on the public port)")
        return problems


async def refresh_queue(session: AsyncSession, now: datetime) -> None:
    """Outbox depth and oldest age, as the database has them for every replica."""
    from bot.models import OutboxMessage

    rows = (await session.execute(select(OutboxMessage.status, func.count(), func.min(OutboxMessage.created_at))
                                  .where(OutboxMessage.status.in_(("pending", "sending")))
                                  .group_by(OutboxMessage.status))).all()
    counts = {status: (count, oldest) for status, count, oldest in rows}
    oldest_times = [oldest for _, oldest in counts.values() if oldest is not None]
    for status in ("pending", "sending"):
        OUTBOX_DEPTH.labels(status).set(counts.get(status, (0, None))[0])
    OUTBOX_OLDEST.set(max(0.0, (now - min(oldest_times)).total_seconds()) if oldest_times else 0.0)


def exposition() -> bytes:
    return generate_latest(REGISTRY)
