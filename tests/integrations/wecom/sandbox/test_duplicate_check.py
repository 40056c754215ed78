"""message/send's enable_duplicate_check, as WeCom does it: a repeat within the interval is answered ok and
not delivered again, so the outbox's resend after a crash is safe only because this is real."""

from __future__ import annotations

from integrations.wecom.sandbox import Sandbox
from tests.integrations.wecom.sandbox.conftest import Api, button_card

CHECK = {"enable_duplicate_check": 1, "duplicate_check_interval": 600}


def delivered(sandbox: Sandbox) -> list[str]:
    return [m.payload.get("content", m.msgtype) for m in sandbox.messages if m.api == "message/send"]


async def test_a_repeat_within_the_interval_is_accepted_and_not_delivered_again(api: Api, sandbox: Sandbox) -> None:
    first = await api.send("text", {"content": "确认"}, touser="zhangsan|lisi", **CHECK)
    again = await api.send("text", {"content": "确认"}, touser="zhangsan|lisi", **CHECK)
    assert first["errcode"] == again["errcode"] == 0
    assert again["msgid"] == first["msgid"]
    assert delivered(sandbox) == ["确认"]


async def test_other_content_other_recipients_or_no_check_are_delivered(api: Api, sandbox: Sandbox) -> None:
    await api.send("text", {"content": "确认"}, **CHECK)
    await api.send("text", {"content": "确认!"}, **CHECK)  # other content
    await api.send("text", {"content": "确认"}, touser="lisi", **CHECK)  # other recipients
    await api.send("text", {"content": "确认"})  # the check not asked for
    assert delivered(sandbox) == ["确认", "确认!", "确认", "确认"]


async def test_the_check_ends_with_its_interval(api: Api, sandbox: Sandbox) -> None:
    await api.send("text", {"content": "交班"}, **CHECK)
    sandbox.advance_clock(599)
    await api.send("text", {"content": "交班"}, **CHECK)
    sandbox.advance_clock(2)
    await api.send("text", {"content": "交班"}, **CHECK)
    assert delivered(sandbox) == ["交班", "交班"]


async def test_a_resent_card_keeps_its_task_id_and_response_code(api: Api, sandbox: Sandbox) -> None:
    first = await api.send("template_card", button_card("dup-1"), **CHECK)
    again = await api.send("template_card", button_card("dup-1"), **CHECK)
    assert again["errcode"] == 0 and again["response_code"] == first["response_code"]
    assert delivered(sandbox) == ["template_card"]
    assert (await api.send("template_card", button_card("dup-1")))["errcode"] != 0  # without it: task_id used


async def test_the_interval_is_bounded_to_four_hours(api: Api) -> None:
    answer = await api.send("text", {"content": "x"}, enable_duplicate_check=1, duplicate_check_interval=14401)
    assert answer["errcode"] == 40058
