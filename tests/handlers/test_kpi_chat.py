"""`指标` / `KPI` in chat: the user's scope in text at once, then the chart as an uploaded image."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.models import OutboxMessage
from bot.outbox import Priority
from opsbot.app import SENDER
from tests.clock import StoppedClock
from tests.conftest import Stack, eventually
from tests.handlers.kpi_support import NOW, seed_plant

pytestmark = pytest.mark.db


async def sent_images(stack: Stack) -> list[OutboxMessage]:
    async with stack.services.sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.msgtype == "image"))).all()
    return list(rows) if rows and all(row.status == "sent" for row in rows) else []


async def chart_rows(stack: Stack) -> list[OutboxMessage]:
    async with stack.services.sessions() as session:
        return list((await session.scalars(select(OutboxMessage).where(OutboxMessage.msgtype == "image")
                                           .order_by(OutboxMessage.id))).all())


async def answer(stack: Stack, userid: str, text: str) -> str:
    """The bot's answer, passive or (while a chart it waits behind is on its way) through the outbox."""
    seen = len(stack.sandbox.state.messages)
    result = await stack.sandbox.send_text(userid, text)
    if result.reply is not None:
        return str(result.reply["Content"])
    message = await stack.sandbox.wait_for_message(
        lambda m: m.id > seen and m.msgtype == "text" and m.touser == [userid], timeout=15)
    return str(message.payload["content"])


@pytest.fixture
def clock() -> StoppedClock:
    """The whole stack's clock (handlers and outbox sender), moved by the tests that need time to pass."""
    return StoppedClock(NOW)


async def test_team_lead_gets_line_figures_then_chart(stack: Stack, tmp_path: Path) -> None:
    await seed_plant(stack, tmp_path)
    result = await stack.sandbox.send_text("lead1", "指标")
    text = result.reply["Content"]
    # L1 today 00:00-14:00: M1 run 4 h, down 2 h, 8 h unknown; M2 14 h unknown.
    # A = 4/6; P = 7200 s ideal / 14400 s run; Q = 7000/7200; OEE = A x P x Q
    assert "产线 L1" in text
    assert "OEE 32.4%" in text and "可用率 66.7%" in text and "性能 50.0%" in text and "质量 97.2%" in text
    assert "停机 2小时0分（1次）" in text
    assert "未计入：设备无信号 22小时0分（2台设备相加），不算运行，也不算停机" in text
    assert "昨日：OEE" in text and "准时交付 100.0%" not in text  # WO1 is due today
    image = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "image" and m.touser == ["lead1"])
    media = stack.sandbox.state.media[image.payload["media_id"]]
    assert media.data.startswith(b"\x89PNG") and media.content_type == "image/png" and len(media.data) > 10_000
    [row] = await eventually(lambda: sent_images(stack))
    assert row.media == {"producer": "kpi_chart", "args": {"scope": "line", "code": "L1"},
                                                  "kind": "image"}
    await stack.app[SENDER].drain_once()  # nothing left to do: not sent twice
    assert len([m for m in stack.sandbox.messages if m.msgtype == "image"]) == 1


async def test_manager_gets_plant_and_operator_is_refused(stack: Stack, tmp_path: Path) -> None:
    await seed_plant(stack, tmp_path)
    text = (await stack.sandbox.send_text("boss", "KPI")).reply["Content"]
    # plant: L1 + L2 (M3 ran 6 h, 5000 parts at 4 s); OTD: WO1 due today at 12:00, done at 11:00
    assert "全厂" in text and "可用率 83.3%" in text
    refused = (await stack.sandbox.send_text("op1", "指标")).reply["Content"]
    assert "指标" not in refused or "OEE" not in refused
    async with stack.services.sessions() as session:
        charts = (await session.scalars(select(OutboxMessage).where(OutboxMessage.msgtype == "image"))).all()
    assert [(r.target["touser"], r.media["args"]["scope"]) for r in charts] == [(["boss"], "plant")]


async def test_manager_asking_for_a_line_gets_that_line_and_its_chart(stack: Stack, tmp_path: Path) -> None:
    """`指标 L1` answered for the plant before: the argument was ignored."""
    await seed_plant(stack, tmp_path)
    text = (await stack.sandbox.send_text("boss", "指标 L1")).reply["Content"]
    assert text.startswith("📊 产线 L1 指标") and "全厂" not in text
    assert "OEE 32.4%" in text and "可用率 66.7%" in text
    assert "/h5/kpi/shift?line=L1&day=2026-01-06&shift=D" in text and "查看白班详情" in text
    [row] = await chart_rows(stack)
    assert row.media["args"] == {"scope": "line", "code": "L1"} and row.target["touser"] == ["boss"]


@pytest.mark.parametrize(("typed", "title"), [
    ("指标 l2", "📊 产线 L2 指标"),  # codes are case-insensitive
    ("kpi m3", "📊 设备 焊机（M3） 指标"),  # a machine code
    ("指标L1", "📊 产线 L1 指标"),  # typed without the space
    ("OEE 全厂", "📊 全厂 指标"),
])
async def test_scope_words_a_manager_may_type(stack: Stack, tmp_path: Path, typed: str, title: str) -> None:
    await seed_plant(stack, tmp_path)
    text = (await stack.sandbox.send_text("boss", typed)).reply["Content"]
    assert text.startswith(title), text


async def test_a_machine_answers_with_its_own_figures(stack: Stack, tmp_path: Path) -> None:
    await seed_plant(stack, tmp_path)
    text = (await stack.sandbox.send_text("boss", "指标 M3")).reply["Content"]
    # M3 ran 08:00-14:00 (6 h of 14 h known), 5000 parts at 4 s = 20000 s ideal of 21600 s run
    assert "可用率 100.0%" in text and "性能 92.6%" in text and "良品 5000" in text
    assert "/h5/kpi/shift?line=L2&" in text
    [row] = await chart_rows(stack)
    assert row.media["args"] == {"scope": "machine", "code": "M3"}
    image = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "image", timeout=15)  # it renders too
    assert stack.sandbox.state.media[image.payload["media_id"]].data.startswith(b"\x89PNG")


async def test_team_lead_sees_own_line_and_is_refused_another(stack: Stack, tmp_path: Path) -> None:
    await seed_plant(stack, tmp_path)
    own = (await stack.sandbox.send_text("lead1", "指标 L1")).reply["Content"]
    assert own.startswith("📊 产线 L1 指标")
    for other in ("指标 L2", "指标 M3", "指标 全厂"):
        refused = await answer(stack, "lead1", other)
        assert "您只能查看自己产线的指标" in refused and "发送「指标」查看产线 L1" in refused, refused
        assert "OEE" not in refused
    assert [r.media["args"]["code"] for r in await chart_rows(stack)] == ["L1"]


async def test_an_unknown_code_lists_the_lines(stack: Stack, tmp_path: Path) -> None:
    await seed_plant(stack, tmp_path)
    text = (await stack.sandbox.send_text("boss", "指标 L9")).reply["Content"]
    assert "没有找到产线或设备「L9」" in text and "可以查询的产线：L1、L2" in text and "指标 L1" in text
    lead = await answer(stack, "lead2", "指标 X")
    assert "可以查询的产线：L2" in lead and "L1" not in lead
    assert await chart_rows(stack) == []


async def test_a_repeated_request_within_a_minute_queues_one_chart(stack: Stack, tmp_path: Path,
                                                                    clock: StoppedClock) -> None:
    await seed_plant(stack, tmp_path)
    await stack.sandbox.send_text("boss", "指标 L1")
    clock.now = NOW.replace(second=50)
    again = await answer(stack, "boss", "指标 l1")
    assert "趋势图1分钟内已发过" in again and "随后发送" not in again
    other = await answer(stack, "boss", "指标 L2")  # another scope: its own chart
    assert "14天趋势图随后发送" in other
    assert [r.media["args"]["code"] for r in await chart_rows(stack)] == ["L1", "L2"]
    clock.now = NOW.replace(minute=1, second=1)  # a minute after the first: a new request
    await answer(stack, "boss", "指标 L1")
    rows = await chart_rows(stack)
    assert [r.media["args"]["code"] for r in rows] == ["L1", "L2", "L1"]
    assert {r.priority for r in rows} == {Priority.HIGH}


async def test_the_chart_arrives_before_the_reply_to_the_next_message(stack: Stack, tmp_path: Path) -> None:
    """A passive reply leaves at once; the chart takes its time (here a slow upload): the next reply waits."""
    await seed_plant(stack, tmp_path)
    stack.sandbox.inject_fault("media/upload", delay_s=1.0, times=1)
    await stack.sandbox.send_text("boss", "指标 L1")
    nxt = await stack.sandbox.send_text("boss", "帮助")
    assert nxt.reply is None  # not passive: it goes out behind the chart
    await stack.sandbox.wait_for_message(lambda m: m.msgtype == "text" and "您可以使用" in m.payload["content"])
    kinds = [(m.api, m.msgtype) for m in stack.sandbox.state.messages_for("boss")]
    assert kinds == [("passive_reply", "text"), ("message/send", "image"), ("message/send", "text")]
    later = await stack.sandbox.send_text("boss", "帮助")  # nothing waits any more: passive again
    assert later.reply is not None and "您可以使用" in later.reply["Content"]


async def test_the_chart_is_queued_with_the_reply_as_one_outbox_message(stack: Stack, tmp_path: Path) -> None:
    """No second queue: the reply's transaction holds the image message and its media step."""
    await seed_plant(stack, tmp_path)
    stack.sandbox.inject_fault("media/upload", errcode=-1, times=1)  # the first upload fails: retried
    await stack.sandbox.send_text("lead2", "指标")
    image = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "image", timeout=15)
    assert image.touser == ["lead2"]
    rows = await eventually(lambda: sent_images(stack))
    assert [(r.target["touser"], r.priority) for r in rows] == [(["lead2"], Priority.HIGH)]
    assert len(stack.sandbox.state.media) == 1  # the failed upload was retried, the image uploaded once


async def test_scheduled_job_delivers_the_chart(stack: Stack, tmp_path: Path) -> None:
    """No manual run: the app's outbox sender produces the chart and the image arrives by itself."""
    await seed_plant(stack, tmp_path)
    await stack.sandbox.send_text("boss", "OEE")
    image = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "image", timeout=15)
    assert image.touser == ["boss"]
