"""Parsing every inbound kind, and passive replies that WeCom (and wechatpy) can read."""

from __future__ import annotations

import pytest
import xmltodict
from wechatpy.enterprise import parse_message

from integrations.wecom.crypto import MalformedMessage
from integrations.wecom.messages import (
    MAX_REPLY_BYTES,
    inbound_event_xml,
    inbound_scan_xml,
    inbound_template_card_event_xml,
    inbound_text_xml,
    parse_inbound,
    text_reply,
    update_button_reply,
)

CORP = "wwsandbox0000000001"
AGENT = 1000002


def test_text_message() -> None:
    xml = inbound_text_xml(CORP, "zhangsan", AGENT, "报工 48 2 ]]> <b>&", "7300000000000000001", 1700000000)
    inbound = parse_inbound(xml)
    assert (inbound.user_id, inbound.corp_id, inbound.agent_id) == ("zhangsan", CORP, AGENT)
    assert inbound.msg_type == "text" and inbound.content == "报工 48 2 ]]> <b>&"
    assert inbound.create_time == 1700000000 and inbound.msg_id == "7300000000000000001"
    assert inbound.dedupe_key == "msg:7300000000000000001"
    assert parse_message(xml).content == inbound.content  # wechatpy reads our builder's XML the same way


def test_wecom_documentation_sample_without_cdata() -> None:
    xml = (
        "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName>"
        "<CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[this is a test]]></Content><MsgId>1234567890123456</MsgId>"
        "<AgentID>1</AgentID></xml>"
    )
    inbound = parse_inbound(xml)
    assert (
        inbound.content == "this is a test" and inbound.agent_id == 1 and inbound.msg_id == "1234567890123456"
    )


@pytest.mark.parametrize(
    ("event", "key"),
    [("click", "menu_report"), ("view", "http://127.0.0.1/h5/x?a=1&b=2"), ("enter_agent", "")],
)
def test_plain_events(event: str, key: str) -> None:
    inbound = parse_inbound(inbound_event_xml(CORP, "lisi", AGENT, event, 1700000001, key))
    assert inbound.msg_type == "event" and inbound.event == event
    assert (inbound.event_key or "") == key
    assert inbound.msg_id is None
    assert inbound.dedupe_key == f"evt:lisi:1700000001:{event}:{key}"


@pytest.mark.parametrize("event", ["scancode_push", "scancode_waitmsg"])
def test_scan_events(event: str) -> None:
    xml = inbound_scan_xml(
        CORP,
        "wangwu",
        AGENT,
        "https://127.0.0.1/q/wo?k=1&s=ab",
        1700000002,
        event=event,
        event_key="scan",
        scan_type="barcode",
    )
    inbound = parse_inbound(xml)
    assert inbound.event == event and inbound.event_key == "scan"
    assert inbound.scan_type == "barcode" and inbound.scan_result == "https://127.0.0.1/q/wo?k=1&s=ab"
    assert parse_message(xml).scan_result == inbound.scan_result


def test_template_card_event_with_one_selected_item() -> None:
    xml = inbound_template_card_event_xml(
        CORP,
        "zhaoliu",
        AGENT,
        1700000003,
        event_key="submit",
        task_id="task-1@a_b",
        card_type="vote_interaction",
        response_code="rc1",
        selected={"q1": ["opt1"]},
    )
    assert isinstance(xmltodict.parse(xml)["xml"]["SelectedItems"]["SelectedItem"], dict)
    inbound = parse_inbound(xml)
    assert (inbound.event, inbound.event_key, inbound.task_id) == (
        "template_card_event",
        "submit",
        "task-1@a_b",
    )
    assert (inbound.card_type, inbound.response_code) == ("vote_interaction", "rc1")
    assert inbound.selected == {"q1": ["opt1"]}
    assert inbound.dedupe_key == "evt:zhaoliu:1700000003:template_card_event:submit@task-1@a_b"


def test_template_card_event_with_several_selected_items() -> None:
    xml = inbound_template_card_event_xml(
        CORP,
        "zhaoliu",
        AGENT,
        1700000004,
        event_key="submit",
        task_id="t2",
        card_type="multiple_interaction",
        response_code="rc2",
        selected={"shift": ["day"], "line": ["l1", "l2", "l3"]},
    )
    assert isinstance(xmltodict.parse(xml)["xml"]["SelectedItems"]["SelectedItem"], list)
    assert parse_inbound(xml).selected == {"shift": ["day"], "line": ["l1", "l2", "l3"]}


def test_template_card_button_without_selection() -> None:
    xml = inbound_template_card_event_xml(
        CORP,
        "u",
        AGENT,
        1700000005,
        event_key="ack",
        task_id="t3",
        card_type="button_interaction",
        response_code="rc3",
    )
    inbound = parse_inbound(xml)
    assert inbound.selected == {} and inbound.event_key == "ack"


@pytest.mark.parametrize(
    "xml",
    [
        "",
        "garbage",
        "<xml><ToUserName>x</ToUserName>",
        "<xml><MsgType>text</MsgType><CreateTime>1</CreateTime></xml>",  # no FromUserName
        "<xml><FromUserName>u</FromUserName><MsgType>text</MsgType><CreateTime>soon</CreateTime></xml>",
        "<xml/>",
        '<!DOCTYPE x [<!ENTITY e "boom">]><xml><FromUserName>&e;</FromUserName></xml>',
        "<xml><FromUserName>u</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType>"
        "<Event>scancode_push</Event></xml>",  # scan without ScanCodeInfo
    ],
)
def test_garbage_is_malformed(xml: str) -> None:
    with pytest.raises(MalformedMessage):
        parse_inbound(xml)


def test_text_reply_is_wecoms_passive_format() -> None:
    fields = xmltodict.parse(text_reply("zhangsan", CORP, "收到 ]]> 谢谢", 1700000006))["xml"]
    assert fields == {
        "ToUserName": "zhangsan",
        "FromUserName": CORP,
        "CreateTime": "1700000006",
        "MsgType": "text",
        "Content": "收到 ]]> 谢谢",
    }


def test_text_reply_cut_at_2048_bytes_on_a_character_boundary() -> None:
    content = "a" + "中" * 1000  # 3001 bytes; 2048 - 1 is not a multiple of 3
    cut = xmltodict.parse(text_reply("u", CORP, content, 1))["xml"]["Content"]
    encoded = cut.encode("utf-8")
    assert len(encoded) <= MAX_REPLY_BYTES and len(encoded) > MAX_REPLY_BYTES - 3
    assert cut == "a" + "中" * 682
    short = xmltodict.parse(text_reply("u", CORP, "好", 1))["xml"]["Content"]
    assert short == "好"


def test_update_button_reply() -> None:
    fields = xmltodict.parse(update_button_reply("u", CORP, "已确认", 1700000007))["xml"]
    assert fields["MsgType"] == "update_button" and fields["Button"] == {"ReplaceName": "已确认"}
    assert fields["ToUserName"] == "u" and fields["FromUserName"] == CORP


def test_same_button_on_two_cards_in_one_second_are_two_taps() -> None:
    """An issue's owner holds an old and a new card with the same 已解决 key: both taps must count."""
    def tap(task_id: str) -> str:
        return parse_inbound(inbound_template_card_event_xml(
            CORP, "zhaoliu", AGENT, 1700000009, event_key="iss:res:1", task_id=task_id,
            card_type="button_interaction", response_code="rc")).dedupe_key
    assert tap("iss-1-old") != tap("iss-1-new")
    assert tap("iss-1-old") == tap("iss-1-old")  # WeCom's retry of one tap is still one tap
