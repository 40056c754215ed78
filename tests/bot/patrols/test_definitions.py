"""Checklist definitions: the demo's load, and each kind of mistake refuses with one readable line."""
from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pytest

from bot.patrols.definitions import DefinitionError, load_checklists, parse_checklist
from bot.settings import settings_from_dict
from bot.settings_schema import SettingsError
from bot.templates import CONTENT_DIR

DEMO = CONTENT_DIR / "patrols"


def demo_raw() -> dict:
    return tomllib.loads((DEMO / "5s_l1.toml").read_text(encoding="utf-8"))


def problems_of(raw: dict) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_checklist(raw)
    return caught.value.problems


def test_the_demo_checklists_load() -> None:
    checklists, problems = load_checklists(DEMO)
    assert problems == []
    assert {c.code for c in checklists} == {"5S-L1", "DJ-CNC"}
    five_s = next(c for c in checklists if c.code == "5S-L1")
    assert [cp.code for cp in five_s.checkpoints] == ["A", "B", "C"]
    assert five_s.checkpoints[1].items[1].high == 0.7


def test_an_unknown_role_is_one_line() -> None:
    raw = demo_raw()
    raw["assign"] = {"role": "janitor"}
    assert problems_of(raw) == ["assign.role: unknown role 'janitor' (known: operator, team_lead, qc, dispatcher, "
                                "maintenance, pm, manager, admin)"]


def test_a_checkpoint_without_items_is_one_line() -> None:
    raw = demo_raw()
    del raw["checkpoints"][1]["items"]
    assert problems_of(raw) == ["checkpoints[1] (B): a checkpoint needs at least one item"]


@pytest.mark.parametrize(("schedule", "expected"), [
    ({"kind": "daily", "times": ["8:30"]}, "schedule.times: '8:30' is not HH:MM"),
    ({"kind": "fortnightly"}, "schedule.kind: one of daily, shift, weekly, hourly, got 'fortnightly'"),
    ({"kind": "weekly", "times": ["08:00"], "days": ["monday"]},
     "schedule.days: 'monday' is not one of mon, tue, wed, thu, fri, sat, sun"),
    ({"kind": "hourly", "every_hours": 5}, "schedule.every_hours: a divisor of 24 (1, 2, 3, 4, 6, 8, 12, 24), got 5"),
])
def test_a_bad_schedule_is_one_line(schedule: dict, expected: str) -> None:
    raw = demo_raw()
    raw["schedule"] = schedule
    assert problems_of(raw) == [expected]


def test_every_problem_is_reported_at_once() -> None:
    raw = demo_raw()
    raw["assign"] = {"role": "janitor"}
    raw["schedule"] = {"kind": "daily"}
    raw["checkpoints"][0]["items"][0]["kind"] = "maybe"
    assert len(problems_of(raw)) == 3


def test_a_number_item_needs_limits_and_a_choice_options() -> None:
    raw = demo_raw()
    del raw["checkpoints"][1]["items"][1]["min"]
    del raw["checkpoints"][1]["items"][1]["max"]
    raw["checkpoints"][2]["items"][0]["options"] = ["整齐"]
    raw["checkpoints"][2]["items"][0]["ng_options"] = []
    assert problems_of(raw) == ["checkpoints[1].items[1]: a number item needs min or max",
                                "checkpoints[2].items[0].options: a choice needs 2 to 5 options"]


def test_an_edit_changes_the_digest_and_nothing_else_does() -> None:
    raw = demo_raw()
    same, edited = parse_checklist(copy.deepcopy(raw)), copy.deepcopy(raw)
    edited["checkpoints"][0]["items"][0]["name"] = "物料摆放"
    assert parse_checklist(raw).digest == same.digest != parse_checklist(edited).digest


def test_the_config_refuses_to_load_with_config_lines(tmp_path: Path) -> None:
    """What `opsbot serve` prints as `config error:` lines: one per problem, naming the file."""
    text = (DEMO / "5s_l1.toml").read_text(encoding="utf-8")
    (tmp_path / "bad.toml").write_text(text.replace('role = "team_lead"', 'role = "janitor"')
                                       .replace('kind = "daily"', 'kind = "sometimes"'), encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        settings_from_dict({"patrols": {"folder": str(tmp_path)}})
    assert caught.value.problems == [
        "patrols.checklist bad.toml: schedule.kind: one of daily, shift, weekly, hourly, got 'sometimes'",
        "patrols.checklist bad.toml: assign.role: unknown role 'janitor' (known: operator, team_lead, qc, "
        "dispatcher, maintenance, pm, manager, admin)"]


def test_the_cli_prints_one_config_error_line_per_problem(tmp_path: Path) -> None:
    import subprocess
    import sys

    text = (DEMO / "5s_l1.toml").read_text(encoding="utf-8")
    folder = tmp_path / "patrols"
    folder.mkdir()
    (folder / "bad.toml").write_text(text.replace('role = "team_lead"', 'role = "janitor"'), encoding="utf-8")
    config = tmp_path / "c.toml"
    config.write_text(f'[patrols]\nfolder = "{folder}"\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "opsbot.cli", "--config", str(config), "patrols", "status"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert [line for line in result.stderr.splitlines() if line.startswith("config error:")] == [
        "config error: patrols.checklist bad.toml: assign.role: unknown role 'janitor' (known: operator, "
        "team_lead, qc, dispatcher, maintenance, pm, manager, admin)"]
