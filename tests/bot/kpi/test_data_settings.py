"""`[kpi]` settings: targets per scope, the plant shift calendar, one line per mistake."""
from __future__ import annotations

import pytest

from bot.kpi.service import shifts_of
from bot.settings_schema import SettingsError
from tests.conftest import make_settings


def test_targets_and_shift_reuse() -> None:
    settings = make_settings("sqlite+aiosqlite://", kpi={
        "micro_stop_threshold_s": 120,
        "targets": [{"kpi": "oee", "scope": "line", "value": 0.8},
                    {"kpi": "oee", "scope": "line", "code": "L2", "value": 0.6}]})
    kpi = settings.feature("kpi")
    assert kpi.micro_stop_threshold_s == 120.0
    assert kpi.target_for("oee", "line", "L2").value == 0.6
    assert kpi.target_for("oee", "line", "L1").value == 0.8
    assert kpi.target_for("oee", "plant", "") is None
    assert shifts_of(settings) == [("D", "08:00", "20:00"), ("N", "20:00", "08:00")]  # the plant calendar
    own = make_settings("sqlite+aiosqlite://", kpi={"shifts": [{"code": "A", "name": "早班", "start": "06:00",
                                                                "end": "18:00"}]})
    assert shifts_of(own) == [("A", "06:00", "18:00")]  # the deprecated [kpi] list still works


def test_mistakes_are_reported_together() -> None:
    with pytest.raises(SettingsError) as caught:
        make_settings("sqlite+aiosqlite://", kpi={
            "micro_stop_threshold_s": -1, "colour": "red",
            "targets": [{"kpi": "speed", "scope": "plant", "value": 0.8},
                        {"kpi": "oee", "scope": "team", "value": 0.8}]})
    problems = caught.value.problems
    assert "kpi.colour: unknown setting" in problems
    assert any("targets[0].kpi" in p for p in problems) and any("targets[1].scope" in p for p in problems)
    assert any("micro_stop_threshold_s" in p for p in problems)
