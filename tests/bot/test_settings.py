"""Settings: a bad config fails at start with one clear line per problem, never a traceback."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import load_settings, settings_from_dict
from bot.settings_schema import SettingsError


def test_demo_defaults_load_without_any_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPSBOT_CONFIG", raising=False)
    settings = load_settings(needs={"wecom", "database", "qr"})
    assert settings.source.endswith("demo.toml")
    assert settings.wecom.agent_id == 1000002 and settings.plant.timezone == "Asia/Shanghai"


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as err:
        settings_from_dict({
            "server": {"port": 70000, "bogus": 1},
            "wecom": {"corp_id": "", "agent_id": "x", "encoding_aes_key": "short"},
            "plant": {"timezone": "Mars/Olympus"},
            "nonsense": {},
        }, needs={"wecom"})
    problems = "\n".join(err.value.problems)
    for expected in ("server.port", "server.bogus: unknown setting", "wecom.corp_id: required",
                     "wecom.agent_id: expected a whole number", "wecom.encoding_aes_key",
                     "plant.timezone: unknown time zone", "nonsense: unknown section"):
        assert expected in problems


def test_a_command_only_checks_the_sections_it_uses() -> None:
    settings = settings_from_dict({"wecom": {"secret": ""}, "database": {"url": "sqlite+aiosqlite:///x.db"}},
                                  needs={"database"})
    assert settings.database.url.endswith("x.db")
    with pytest.raises(SettingsError):
        settings_from_dict({"wecom": {"secret": ""}}, needs={"wecom"})


def test_environment_overrides_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[wecom]\nsecret = "from-file"\n', encoding="utf-8")
    monkeypatch.setenv("OPSBOT_WECOM_SECRET", "from-env")
    monkeypatch.setenv("OPSBOT_DATABASE_URL", "sqlite+aiosqlite:///env.db")
    settings = load_settings(config)
    assert settings.wecom.secret == "from-env" and settings.database.url.endswith("env.db")


def test_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "opsbot.example.toml"
    settings = load_settings(example, needs={"wecom", "database", "qr", "server"})
    assert settings.wecom.api_base == "https://qyapi.weixin.qq.com"


def test_cli_prints_one_line_per_problem_and_no_traceback(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[wecom]\ncorp_id = ""\nagent_id = 0\n[server]\nport = -1\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "bot.cli", "--config", str(config), "serve"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("config error:")]
    assert any("wecom.corp_id" in line for line in lines) and any("server.port" in line for line in lines)


def test_cli_reports_a_toml_syntax_error_clearly(tmp_path: Path) -> None:
    config = tmp_path / "broken.toml"
    config.write_text("[wecom\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "bot.cli", "--config", str(config), "db", "upgrade"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "not valid TOML" in result.stderr and "Traceback" not in result.stderr
