"""Helpers for hostile-input tests: raw card taps with any key, and spotting a crash the bot apologised for."""
from __future__ import annotations

import itertools
import logging
import time

import pytest

from tests.conftest import Stack

APOLOGY = "抱歉，系统处理您的消息时出错了"
_create_times = itertools.count(int(time.time()))


async def tap_key(stack: Stack, userid: str, key: str, task_id: str = "hostile-task") -> dict | None:
    """A template-card tap with any key, as WeCom would deliver a forged or stale card's button.

    Each tap gets its own CreateTime so two taps are two events, not a WeCom retry of one."""
    from integrations.wecom import messages

    config = stack.sandbox.config
    xml = messages.inbound_template_card_event_xml(
        config.corp_id, userid, config.agent_id, next(_create_times), event_key=key, task_id=task_id,
        card_type="button_interaction", response_code="hostile-code")
    result = await stack.sandbox.post_raw(xml)
    assert result.status == 200, (key, result.status, result.body[:200])
    return result.reply


def crashes(caplog: pytest.LogCaptureFixture) -> list[str]:
    """ERROR records that carry a traceback: a handler or the web layer failed instead of answering."""
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records
            if r.levelno >= logging.ERROR and (r.exc_info or r.exc_text)]


def assert_answered(reply: dict | None, caplog: pytest.LogCaptureFixture) -> str:
    """The bot answered on purpose: no apology for a crash and no traceback in the log."""
    assert not crashes(caplog), crashes(caplog)
    text = str((reply or {}).get("Content") or "")
    assert APOLOGY not in text, text
    return text
