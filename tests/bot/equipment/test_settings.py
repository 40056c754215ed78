"""[equipment] validation: each mistake is one line naming where it is; a good table parses to dataclasses."""
from __future__ import annotations

import pytest

from bot.settings import settings_from_dict
from bot.settings_schema import SettingsError


def problems(equipment: dict[str, object]) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        settings_from_dict({"equipment": equipment})
    return caught.value.problems


def machine(**overrides: object) -> dict[str, object]:
    return {"code": "L1-M1", "endpoint": "plc", "tags": {"state": "ns=2;s=M1.State", "good": "ns=2;s=M1.Good",
                                                           "scrap": "ns=2;s=M1.Scrap"}} | overrides


ENDPOINT = {"name": "plc", "url": "opc.tcp://127.0.0.1:4840"}


def test_a_good_table_parses() -> None:
    settings = settings_from_dict({"equipment": {"endpoints": [ENDPOINT], "machines": [machine()],
                                                 "lines": [{"line": "L1", "maintenance": ["wang"]}]}})
    equipment = settings.feature("equipment")
    assert [e.name for e in equipment.endpoint_configs()] == ["plc"]
    assert [t.key for t in equipment.machines[0].tag_refs()] == ["L1-M1/state", "L1-M1/good", "L1-M1/scrap"]
    assert equipment.recipients("L1").maintenance == ["wang"] and equipment.recipients("L2").maintenance == []
    assert equipment.reason_for_alarm(105.0) == "ALM105" and equipment.reason_for_alarm(0) is None


def test_no_section_means_no_machines() -> None:
    assert settings_from_dict({}).feature("equipment").machines == []


@pytest.mark.parametrize(("equipment", "expected"), [
    ({"endpoints": [ENDPOINT | {"url": "http://x"}]}, "equipment.endpoints[0].url: must start with opc.tcp://"),
    ({"endpoints": [ENDPOINT | {"interval_s": 0}]}, "equipment.endpoints[0].interval_s: must be a number"),
    ({"endpoints": [ENDPOINT, ENDPOINT]}, "equipment.endpoints[1].name: duplicate endpoint name 'plc'"),
    ({"endpoints": [ENDPOINT], "machines": [machine(), machine()]},
     "equipment.machines[1].code: duplicate machine 'L1-M1'"),
    ({"endpoints": [ENDPOINT], "machines": [machine(tags={"good": "ns=2;s=G", "scrap": "ns=2;s=S"})]},
     "equipment.machines[0].tags.state: required"),
    ({"endpoints": [ENDPOINT], "machines": [machine(counter_max=0)]}, "equipment.machines[0].counter_max:"),
    ({"endpoints": [ENDPOINT], "machines": [machine(state_map={"3": "broken"})]},
     "equipment.machines[0].state_map.3: 'broken' is not one of"),
    ({"endpoints": [ENDPOINT], "machines": [machine(extra={"temp": "ns=x"})]},
     "equipment.machines[0].tags.extra.temp:"),
    ({"andon": {"threshold_s": "2 minutes"}}, "equipment.andon.threshold_s: expected float, got '2 minutes'"),
    ({"andon": {"escalate_after_min": [5, 10, 15]}}, "equipment.andon.escalate_after_min: up to two"),
    ({"alarm_reasons": {"101": "NOPE"}}, "equipment.alarm_reasons.101: 'NOPE' is not a code in reasons"),
    ({"lines": [{"line": "L1"}, {"line": "L1"}]}, "equipment.lines: each needs a unique line code"),
    ({"reasons": []}, "equipment.reasons: at least one"),
    ({"machine": []}, "equipment.machine: unknown setting"),
])
def test_each_mistake_is_one_line(equipment: dict[str, object], expected: str) -> None:
    found = problems(equipment)
    assert len(found) == 1 and found[0].startswith(expected), found
