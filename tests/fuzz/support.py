"""What the fuzz tests share: hostile strategies, the routes enumerated from the real dispatcher, the seeded
plant, and the one assertion that matters — the bot answered on purpose (no 5xx, no apology, no traceback)."""
from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from bot.models import ConversationState, Machine
from bot.models.equipment import DowntimeAlert, MachineState
from bot.router import Dispatcher, Route
from handlers import ROUTERS
from tests.bot.reports.seed import Seeded
from tests.conftest import Stack, eventually
from tests.handlers.hostile import APOLOGY, crashes
from tests.handlers.reports_support import seed_stack

# Bounded so `make test` stays quick; the strategies lean on the inputs that broke before (issue 10).
FUZZ = settings(max_examples=12, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
FUZZ_MORE = settings(FUZZ, max_examples=30)
DISPATCHER = Dispatcher(list(ROUTERS))
FUZZ_USER = "admin"  # an admin passes every role check, so every handler is reached

NUMBER_LIKE = ["0", "-0", "-1", "+1", "1_000", "1e9", "0x10", "00000001", " 7 ", "2147483647", "2147483648",
               "9223372036854775808", "99999999999999999999", "9" * 400, "9" * 5000, "²", "١٢", "１２", "𝟙", "٣٤"]
# Text WeCom can deliver: XML 1.0 cannot carry C0 controls or lone surrogates.
chat_chars = st.characters(blacklist_categories=("Cs", "Cc"))
hostile_numbers = st.one_of(st.sampled_from(NUMBER_LIKE), st.integers(-(10**30), 10**30).map(str),
                            st.text("0123456789", min_size=1, max_size=40),
                            st.integers(1, 700).map(lambda n: "9" * n))  # past int32, int64 and float
hostile_words = st.one_of(hostile_numbers, st.text(chat_chars, min_size=1, max_size=30))
hostile_args = st.one_of(hostile_numbers, st.lists(hostile_numbers, min_size=2, max_size=4).map(" ".join),
                         st.lists(hostile_words, max_size=5).map(" ".join))
# Form fields and query strings can carry anything, controls and NUL included.
any_text = st.one_of(hostile_numbers, st.text(st.characters(blacklist_categories=("Cs",)), max_size=60))
# A request line over 8 KB is refused by aiohttp's parser before any of our code (a 400, logged by aiohttp):
# query values stay short enough that the fuzz reaches the bot.
query_text = any_text.filter(lambda t: len(t) <= 1000)


def routes_of(kind: str) -> list[Route]:
    """One route per key of `kind`, straight from the product's dispatcher: a new route is fuzzed too."""
    seen: dict[str, Route] = {}
    for route in DISPATCHER.routes:
        if route.kind == kind:
            seen.setdefault(route.key, route)
    return list(seen.values())


def ids(routes: list[Route]) -> list[str]:
    return [f"{r.name}:{r.key}" for r in routes]


async def seed_plant(stack: Stack) -> Seeded:
    """The reporting plant (people known to the sandbox too) and one open downtime alert on L1-M1."""
    seeded = await seed_stack(stack)
    now = stack.services.clock()
    async with stack.services.sessions.begin() as session:
        machine_id = await session.scalar(select(Machine.id).where(Machine.code == "L1-M1"))
        state = MachineState(machine_id=machine_id, state="down", start_at=now - timedelta(minutes=5))
        session.add(state)
        await session.flush()
        session.add(DowntimeAlert(machine_id=machine_id, state_id=state.id, down_start=state.start_at,
                                  task_id="fuzz-alert"))
    return seeded


async def quiet_outbox(stack: Stack, timeout: float = 30) -> None:
    """Drops what the examples queued and waits for the message in flight: the sandbox stops before the bot
    does, and a sender still retrying against it then would hold up the app's shutdown."""
    from bot.models import OutboxMessage

    async def quiet() -> bool:
        async with stack.services.sessions.begin() as session:
            await session.execute(delete(OutboxMessage).where(OutboxMessage.status == "pending"))
            busy = await session.scalar(select(OutboxMessage.id).where(OutboxMessage.status == "sending").limit(1))
        return busy is None

    await eventually(quiet, timeout=timeout, interval=0.1)


async def set_state(stack: Stack, seeded: Seeded, name: str | None) -> None:
    """Puts the fuzz user into conversation state `name` (None: no state), with data its handler expects."""
    from bot import conversation

    user_id = seeded.users[FUZZ_USER]
    async with stack.services.sessions.begin() as session:
        await session.execute(delete(ConversationState).where(ConversationState.user_id == user_id))
        if name is not None:
            alert_id = int(await session.scalar(select(DowntimeAlert.id).limit(1)) or 0)
            data = STATE_DATA[name](seeded, alert_id)
            await conversation.save_state(session, user_id, name, data, stack.services.clock(), 600)


# The data each conversation state's handlers read; a new state needs a line here (a test says so).
STATE_DATA: dict[str, Callable[[Seeded, int], dict[str, Any]]] = {
    "reports.qty": lambda s, _: {"operation_id": s.op10},
    "reports.reason": lambda s, _: {"operation_id": s.op10, "good": 1, "scrap": 1},
    "equipment.reason": lambda _, alert: {"alert_id": alert},
    "equipment.machine": lambda _, __: {"machine": "L1-M1"},
    "issues.describe": lambda _, __: {},
    "issues.category": lambda _, __: {"text": "模糊测试的问题", "machine_id": None},
    "issues.photo": lambda _, __: {"issue_id": 2_147_483_647},
    "training.comment": lambda _, __: {"code": "SAFE-01", "version": 1},
    "patrols.at": lambda _, __: {"round": 1, "checkpoint": "A"},
}

_create_times = itertools.count(int(time.time()))


def next_create_time() -> int:
    """Events are de-duplicated by CreateTime and key: every fuzzed event is a new one, never a retry."""
    return next(_create_times)


def assert_on_purpose(status: int, reply: dict | None, caplog: pytest.LogCaptureFixture, what: object) -> None:
    assert status < 500, (what, status)
    assert not crashes(caplog), (what, crashes(caplog))
    content = str((reply or {}).get("Content") or "")
    assert APOLOGY not in content, (what, content)
