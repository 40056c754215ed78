"""Endpoint and tag configuration: valid tables parse, mistakes come back as one readable line each."""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.opcua.config import EndpointConfig, TagRef, parse_endpoints, parse_node_ref, parse_tags
from integrations.opcua.noderef import PathElement


def test_minimal_endpoint_gets_defaults() -> None:
    endpoints, errors = parse_endpoints([{"name": "line1", "url": "opc.tcp://10.0.0.5:4840"}])
    assert errors == []
    assert endpoints == [EndpointConfig(name="line1", url="opc.tcp://10.0.0.5:4840")]
    assert (endpoints[0].interval_s, endpoints[0].mode, endpoints[0].timeout_s) == (1.0, "poll", 4.0)


def test_full_endpoint_parses(tmp_path: Path) -> None:
    for name in ("cert.pem", "key.pem", "server.der"):
        (tmp_path / name).write_bytes(b"x")  # the security string's files must exist
    table = {
        "name": "press",
        "url": "opc.tcp://plc:4840/ua",
        "interval_s": 0.5,
        "mode": "subscribe",
        "timeout_s": 2,
        "security": f"Basic256Sha256,SignAndEncrypt,{tmp_path}/cert.pem,{tmp_path}/key.pem,{tmp_path}/server.der",
        "username": "op",
        "password": "",
        "application_uri": "urn:opsbot:client",
    }
    endpoints, errors = parse_endpoints([table])
    assert errors == []
    assert endpoints[0].timeout_s == 2.0 and endpoints[0].password == "" and endpoints[0].mode == "subscribe"


def test_each_mistake_is_one_readable_line() -> None:
    items = [
        {"name": "ok", "url": "opc.tcp://a:4840"},
        {"name": "bad", "url": "http://a:4840", "interval_s": 0, "mode": "push", "intervall_s": 1},
        {"url": "opc.tcp://b:4840", "security": "Basic256Sha256,Sign", "username": "u"},
        {"name": "ok", "url": "opc.tcp://c"},
        "not a table",
    ]
    endpoints, errors = parse_endpoints(items)
    assert [e.name for e in endpoints] == ["ok"]
    assert errors == [
        "equipment.endpoints[1].intervall_s: unknown key (known: application_uri, interval_s, mode, name, "
        "password, security, timeout_s, url, username)",
        "equipment.endpoints[1].url: must start with opc.tcp://, not 'http://a:4840'",
        "equipment.endpoints[1].interval_s: must be a number of seconds >= 0.05, not 0",
        "equipment.endpoints[1].mode: must be one of poll, subscribe, not 'push'",
        "equipment.endpoints[2].name: is required",
        "equipment.endpoints[2].security: must be Policy,Mode,client_cert,client_key[,server_cert]",
        "equipment.endpoints[2]: username and password must be given together",
        "equipment.endpoints[3].url: needs a port, e.g. opc.tcp://c:4840",
        "equipment.endpoints[3].name: duplicate endpoint name 'ok'",
        "equipment.endpoints[4]: must be a table with at least name and url",
    ]


def test_duplicate_names_and_unknown_policy_are_reported() -> None:
    items = [
        {"name": "a", "url": "opc.tcp://a:4840"},
        {"name": "a", "url": "opc.tcp://b:4840", "security": "Basic999,Encrypt,c,k"},
    ]
    endpoints, errors = parse_endpoints(items, where="plant.opcua")
    assert len(endpoints) == 1
    assert "plant.opcua[1].name: duplicate endpoint name 'a'" in errors
    assert any("unknown policy 'Basic999'" in line for line in errors)
    assert any("unknown mode 'Encrypt'" in line for line in errors)


def test_not_a_list_and_allowed_extra_keys() -> None:
    assert parse_endpoints({"name": "a"}) == (
        [],
        ["equipment.endpoints: must be a list of tables ([[...]] in TOML)"],
    )
    endpoints, errors = parse_endpoints(
        [{"name": "a", "url": "opc.tcp://a:1", "machines": []}], allow_keys={"machines"}
    )
    assert errors == [] and endpoints[0].name == "a"


@pytest.mark.parametrize(
    ("text", "uri", "index", "identifier"),
    [
        ("ns=2;s=L1-M1.State", None, 2, "s=L1-M1.State"),
        ("ns=3;i=1001", None, 3, "i=1001"),
        ("i=2258", None, 0, "i=2258"),
        ("nsu=urn:opsbot:sim;s=A;B", "urn:opsbot:sim", None, "s=A;B"),
        ("nsu=http://vendor.com/UA/;i=5", "http://vendor.com/UA/", None, "i=5"),
    ],
)
def test_node_ids_parse(text: str, uri: str | None, index: int | None, identifier: str) -> None:
    ref = parse_node_ref(text)
    assert (ref.namespace_uri, ref.namespace_index, ref.identifier, ref.path) == (
        uri,
        index,
        identifier,
        None,
    )


def test_browse_path_parses_with_one_namespace() -> None:
    ref = parse_node_ref("nsu=urn:plant;path=Objects/2:Line1/2:M1/2:State")
    assert ref.namespace_uri == "urn:plant"
    assert ref.path == (
        PathElement("Objects", False),
        PathElement("Line1", True),
        PathElement("M1", True),
        PathElement("State", True),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must be a non-empty node id string"),
        ("L1-M1.State", "expected ns=<index>;s=…"),
        ("ns=2;i=abc", "invalid i= identifier 'abc'"),
        ("ns=2;s=", "empty identifier after s="),
        ("nsu=urn:x;q=1", "expected nsu=<namespace uri>;s=…"),
        ("nsu=urn:x;path=Objects/2:A/3:B", "path mixes namespace indexes 2, 3"),
        ("nsu=urn:x;path=Objects//2:A", "path segment ''"),
    ],
)
def test_bad_node_refs_explain_themselves(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_node_ref(text)


def test_tags_parse_from_table_or_list_with_errors() -> None:
    tags, errors = parse_tags({"state": "ns=2;s=M1.State", "good": "nsu=urn:x;s=M1.Good"})
    assert errors == [] and tags == [
        TagRef("state", "ns=2;s=M1.State"),
        TagRef("good", "nsu=urn:x;s=M1.Good"),
    ]
    tags, errors = parse_tags(
        [{"key": "a", "node": "ns=2;s=A"}, {"key": "a", "node": "ns=2;s=B"}, {"key": "c", "node": "bogus"}],
        where="equipment.machines[0].tags",
    )
    assert tags == [TagRef("a", "ns=2;s=A")]
    assert errors[0] == "equipment.machines[0].tags[1].key: duplicate key 'a'"
    assert errors[1].startswith("equipment.machines[0].tags[2].node: 'bogus': expected")
