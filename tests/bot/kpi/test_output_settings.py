"""`[[equipment.machines]] output` and the reconciliation tolerances: defaults, and mistakes named at start."""
from __future__ import annotations

import pytest

from bot.settings_schema import SettingsError
from tests.bot.equipment.support import parse
from tests.bot.kpi.counter_support import equipment
from tests.conftest import make_settings


def test_output_defaults_to_both_with_counter_tags_and_reports_without() -> None:
    raw = equipment({"M1": "", "M2": "counters"})
    raw["machines"].append({"code": "M3", "endpoint": "plc", "tags": {"state": "ns=2;s=M3.State"}})
    sources = {m.code: m.output_source() for m in parse(raw).machines}
    assert sources == {"M1": "both", "M2": "counters", "M3": "reports"}


@pytest.mark.parametrize(("output", "tags", "problem"), [
    ("plc", {"state": "ns=2;s=M1.State"}, "output: one of counters, reports, both, got 'plc'"),
    ("both", {"state": "ns=2;s=M1.State"}, "output: 'both' needs counter tags"),
])
def test_output_mistakes_are_refused(output: str, tags: dict[str, str], problem: str) -> None:
    raw = equipment({"M1": output})
    raw["machines"][0]["tags"] = tags
    with pytest.raises(SettingsError, match=problem):
        parse(raw)


def test_negative_tolerance_is_refused() -> None:
    with pytest.raises(SettingsError, match="reconciliation_tolerance_pct"):
        make_settings("sqlite+aiosqlite://", kpi={"reconciliation_tolerance_pieces": -1})
