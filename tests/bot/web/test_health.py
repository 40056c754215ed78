"""/healthz, /readyz and /metrics on the real stack: readiness follows the database and the migration head,
/metrics is hidden without its token and served on its own listener, parses with the Prometheus parser, and its
counters move with callbacks, sends, WeCom errors and job runs."""
from __future__ import annotations

import socket
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from bot import outbox
from bot.context import Services
from bot.scheduler import Job, JobRunner
from bot.settings import settings_from_dict
from bot.templates import Templates
from bot.web.health import migration_head, readiness_problems
from tests.conftest import Stack, eventually

pytestmark = pytest.mark.db
TOKEN = "metrics-token-for-tests-0123456789"


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


METRICS_PORT = _port()


@pytest.fixture
def stack_overrides() -> dict[str, dict[str, Any]]:
    return {"metrics": {"token": TOKEN, "port": METRICS_PORT}}


def samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics page by (name, labels)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


async def scrape(url: str, token: str | None = TOKEN) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response.status, await response.text()


def value(page: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return page.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_health_and_readiness_follow_the_database(stack: Stack) -> None:
    status, body = await scrape(f"{stack.bot_url}/healthz", None)
    assert status == 200 and '"ok": true' in body
    status, body = await scrape(f"{stack.bot_url}/readyz", None)
    assert status == 503 and "run opsbot db upgrade" in body  # the test schema has no migration history
    async with stack.services.sessions.begin() as session:
        await session.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        await session.execute(text("INSERT INTO alembic_version VALUES (:head)"), {"head": migration_head()})
    status, body = await scrape(f"{stack.bot_url}/readyz", None)
    assert status == 200 and '"ready": true' in body


async def test_an_unreachable_database_is_not_ready() -> None:
    from bot.db import make_engine, make_session_factory

    engine = make_engine(f"postgresql+asyncpg://nobody@127.0.0.1:{_port()}/nothing")
    settings = settings_from_dict({})
    services = Services(settings=settings, sessions=make_session_factory(engine), templates=Templates(settings.tz),
                        clock=datetime.now)
    try:
        problems = await readiness_problems(services)
    finally:
        await engine.dispose()
    assert len(problems) == 1 and problems[0].startswith("database unreachable")


async def test_metrics_are_guarded_and_move_with_the_traffic(stack: Stack) -> None:
    assert (await scrape(f"{stack.bot_url}/metrics", None))[0] == 404
    assert (await scrape(f"{stack.bot_url}/metrics", "wrong-token-wrong-token"))[0] == 404
    status, body = await scrape(f"http://127.0.0.1:{METRICS_PORT}/metrics", None)  # its own listener: no token
    assert status == 200
    before = samples(body)
    await stack.add_user("worker1", "工人一", ["operator"])
    for _ in range(3):
        assert (await stack.sandbox.send_text("worker1", "帮助")).status == 200
    stack.sandbox.inject_fault("message/send", errcode=60020)  # WeCom refuses the next send (trusted IP)
    async with stack.services.sessions.begin() as session:
        outbox.enqueue(session, "text", {"content": "一"}, to=["worker1"])
        outbox.enqueue(session, "text", {"content": "二"}, to=["worker1"])
    stack.services.outbox_wakeup.set()

    async def job_body(services: Services, now: datetime) -> None:
        return None

    job = Job("metrics_probe", job_body, interval_s=60)
    await JobRunner(stack.services, [job]).fire(job, 60)

    async def moved() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
        page = samples((await scrape(f"{stack.bot_url}/metrics"))[1])
        sent = value(page, "opsbot_outbox_messages_total", outcome="sent") - value(
            before, "opsbot_outbox_messages_total", outcome="sent")
        return page if sent >= 1 and value(page, "opsbot_outbox_depth", status="pending") == 0 else None

    after = await eventually(moved, timeout=10)
    assert value(after, "opsbot_callbacks_total", outcome="replied") - value(
        before, "opsbot_callbacks_total", outcome="replied") == 3
    assert value(after, "opsbot_handler_seconds_count") - value(before, "opsbot_handler_seconds_count") == 3
    assert value(after, "opsbot_wecom_api_errors_total", api="message/send", errcode="60020") - value(
        before, "opsbot_wecom_api_errors_total", api="message/send", errcode="60020") == 1
    assert value(after, "opsbot_job_runs_total", job="metrics_probe", outcome="ok") - value(
        before, "opsbot_job_runs_total", job="metrics_probe", outcome="ok") == 1
    assert ("opsbot_outbox_oldest_age_seconds", ()) in after
    refused = value(after, "opsbot_callbacks_total", outcome="refused")
    async with aiohttp.ClientSession() as http, http.post(f"{stack.bot_url}/wecom/callback?msg_signature=x") as r:
        assert r.status == 400
    page = samples((await scrape(f"{stack.bot_url}/metrics"))[1])
    assert value(page, "opsbot_callbacks_total", outcome="refused") == refused + 1


def test_settings_refuse_a_short_token() -> None:
    with pytest.raises(Exception, match="metrics.token"):
        settings_from_dict({"metrics": {"token": "short"}})
