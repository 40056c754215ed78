"""Property: whatever a member types, taps, clicks or scans, the bot answers on purpose — for every text command,
conversation state, card key, menu key, event and QR kind the product's routers register (issue 10 item 6).

Messages go through the sandbox as real encrypted callbacks; a handler crash shows up as the apology in the
reply and an ERROR record with a traceback, both of which fail the example."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.qr import QrPayload
from bot.qr.payload import DEFAULT_KINDS
from bot.router import Route
from integrations.wecom import messages
from tests.bot.reports.seed import Seeded
from tests.conftest import Stack

from .support import (
    DISPATCHER,
    FUZZ,
    FUZZ_MORE,
    FUZZ_USER,
    STATE_DATA,
    assert_on_purpose,
    chat_chars,
    hostile_args,
    hostile_numbers,
    hostile_words,
    ids,
    next_create_time,
    quiet_outbox,
    routes_of,
    seed_plant,
    set_state,
)

pytestmark = [pytest.mark.db, pytest.mark.slow]
COMMANDS = routes_of("command")
STATEFUL = [r for r in routes_of("text") if r.state is not None]
FREE_TEXT = [r for r in routes_of("text") if r.state is None]
BUTTONS, MENUS, EVENTS, SCANS = routes_of("button"), routes_of("menu"), routes_of("event"), routes_of("scan")
IMAGES = routes_of("image")


@pytest.fixture
async def plant(stack: Stack) -> AsyncIterator[tuple[Stack, Seeded]]:
    yield stack, await seed_plant(stack)
    await quiet_outbox(stack)


async def send_event(stack: Stack, event: str, key: str = "") -> tuple[int, dict | None]:
    config = stack.sandbox.config
    if event == "template_card_event":
        xml = messages.inbound_template_card_event_xml(
            config.corp_id, FUZZ_USER, config.agent_id, next_create_time(), event_key=key, task_id="fuzz-task",
            card_type="button_interaction", response_code="fuzz-code")
    else:
        xml = messages.inbound_event_xml(config.corp_id, FUZZ_USER, config.agent_id, event, next_create_time(), key)
    result = await stack.sandbox.post_raw(xml)
    return result.status, result.reply


def test_the_product_registers_routes_of_every_kind_fuzzed_here() -> None:
    """If enumeration broke (a renamed kind), the fuzz tests below would pass on nothing at all."""
    assert COMMANDS and STATEFUL and BUTTONS and SCANS
    assert {r.kind for r in DISPATCHER.routes} <= {"command", "text", "image", "button", "menu", "event", "scan"}


def test_every_conversation_state_has_fuzz_data() -> None:
    missing = {r.state for r in STATEFUL} - set(STATE_DATA)
    assert not missing, f"add the data of states {sorted(missing)} to STATE_DATA in tests/fuzz/support.py"


@pytest.mark.parametrize("route", COMMANDS, ids=ids(COMMANDS))
@FUZZ_MORE
@given(args=hostile_args)
async def test_every_text_command_answers_any_arguments(plant: tuple[Stack, Seeded], caplog: pytest.LogCaptureFixture,
                                                        route: Route, args: str) -> None:
    stack, seeded = plant
    caplog.clear()
    await set_state(stack, seeded, None)
    text = f"{route.key} {args}".strip()
    result = await stack.sandbox.send_text(FUZZ_USER, text)
    assert_on_purpose(result.status, result.reply, caplog, text)


@pytest.mark.parametrize("route", STATEFUL, ids=ids(STATEFUL))
@FUZZ
@given(data=st.data())
async def test_every_conversation_state_answers_any_reply(plant: tuple[Stack, Seeded], caplog: pytest.LogCaptureFixture,
                                                          route: Route, data: st.DataObject) -> None:
    stack, seeded = plant
    assert route.pattern is not None and route.state is not None
    text = data.draw(st.one_of(st.from_regex(route.pattern, fullmatch=True), hostile_args), label="text")
    caplog.clear()
    await set_state(stack, seeded, route.state)
    result = await stack.sandbox.send_text(FUZZ_USER, text)
    assert_on_purpose(result.status, result.reply, caplog, text)


@pytest.mark.parametrize("route", IMAGES, ids=ids(IMAGES))
@FUZZ
@given(media_id=st.one_of(st.text(chat_chars, max_size=40), st.just("")))
async def test_every_image_route_answers_any_photo(plant: tuple[Stack, Seeded], caplog: pytest.LogCaptureFixture,
                                                   route: Route, media_id: str) -> None:
    stack, seeded = plant
    caplog.clear()
    await set_state(stack, seeded, route.state)
    config = stack.sandbox.config
    xml = messages.inbound_image_xml(config.corp_id, FUZZ_USER, config.agent_id, media_id, "http://127.0.0.1/p",
                                     str(next_create_time()), next_create_time())
    result = await stack.sandbox.post_raw(xml)
    assert_on_purpose(result.status, result.reply, caplog, media_id)


@pytest.mark.skipif(not FREE_TEXT, reason="no free-text routes registered")
@FUZZ
@given(data=st.data())
async def test_free_text_routes_answer_anything_they_match(
        plant: tuple[Stack, Seeded], caplog: pytest.LogCaptureFixture, data: st.DataObject) -> None:
    stack, seeded = plant
    route = data.draw(st.sampled_from(FREE_TEXT), label="route")
    assert route.pattern is not None
    text = data.draw(st.from_regex(route.pattern, fullmatch=True).filter(lambda t: "\x00" not in t), label="text")
    caplog.clear()
    await set_state(stack, seeded, None)
    result = await stack.sandbox.send_text(FUZZ_USER, text)
    assert_on_purpose(result.status, result.reply, caplog, text)


@pytest.mark.parametrize("route", BUTTONS, ids=ids(BUTTONS))
@FUZZ_MORE
@given(suffix=st.one_of(hostile_numbers, st.text(chat_chars, max_size=30), st.just("1"), st.just("1:2")))
async def test_every_card_key_answers_any_suffix(plant: tuple[Stack, Seeded], caplog: pytest.LogCaptureFixture,
                                                 route: Route, suffix: str) -> None:
    stack, _ = plant
    caplog.clear()
    status, reply = await send_event(stack, "template_card_event", route.key + suffix)
    assert_on_purpose(status, reply, caplog, route.key + suffix)


@pytest.mark.parametrize("route", MENUS + EVENTS, ids=ids(MENUS + EVENTS))
@FUZZ
@given(noise=hostile_words)
async def test_every_menu_key_and_event_answers(plant: tuple[Stack, Seeded], caplog: pytest.LogCaptureFixture,
                                                route: Route, noise: str) -> None:
    stack, _ = plant
    caplog.clear()
    event, key = ("click", route.key) if route.kind == "menu" else (route.key, noise)
    status, reply = await send_event(stack, event, key)
    assert_on_purpose(status, reply, caplog, (event, key))


def _ids_for(kind: str) -> st.SearchStrategy[tuple[str, ...]]:
    """Ids a label may carry (1..255 UTF-8 bytes each), leaning on hostile numbers for the numeric fields."""
    fields = next(k.fields for k in DEFAULT_KINDS if k.name == kind)
    one = st.one_of(hostile_numbers, st.text(chat_chars, min_size=1, max_size=40)).filter(
        lambda s: 1 <= len(s.encode()) <= 255)
    return st.tuples(*[one for _ in fields])


@pytest.mark.parametrize("route", SCANS, ids=ids(SCANS))
@FUZZ
@given(data=st.data())
async def test_every_qr_kind_answers_any_label(plant: tuple[Stack, Seeded], caplog: pytest.LogCaptureFixture,
                                               route: Route, data: st.DataObject) -> None:
    stack, seeded = plant
    signer = stack.services.qr
    assert signer is not None
    signed = _ids_for(route.key).map(lambda i: signer.url(QrPayload(route.key, i)))
    scanned = data.draw(st.one_of(signed, st.text(chat_chars, max_size=80)), label="scan")
    caplog.clear()
    await set_state(stack, seeded, None)
    result = await stack.sandbox.scan(FUZZ_USER, scanned)
    assert_on_purpose(result.status, result.reply, caplog, scanned)
