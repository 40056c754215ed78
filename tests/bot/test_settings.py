"""Settings: a bad config fails at start with one clear line per problem, never a traceback."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from secrets import token_urlsafe

import pytest

from bot.settings import load_settings, settings_from_dict
from bot.settings_schema import SettingsError

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "opsbot.example.toml"
SERVE_NEEDS = {"wecom", "database", "qr", "server"}
DEMO_NEEDS = SERVE_NEEDS | {"demo"}  # what `opsbot demo` asks for


def test_demo_defaults_load_without_any_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPSBOT_CONFIG", raising=False)
    settings = load_settings(needs=DEMO_NEEDS)
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


def test_example_config_is_valid_once_its_secrets_are_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSBOT_SERVER_SESSION_SECRET", token_urlsafe(32))
    monkeypatch.setenv("OPSBOT_QR_SECRET", token_urlsafe(32))
    settings = load_settings(EXAMPLE, needs=SERVE_NEEDS)
    assert settings.wecom.api_base == "https://qyapi.weixin.qq.com"


def test_example_config_secrets_are_refused_as_placeholders(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPSBOT_SERVER_SESSION_SECRET", "OPSBOT_QR_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SettingsError) as err:
        load_settings(EXAMPLE, needs=SERVE_NEEDS)
    assert [p.split(":", 1)[0] for p in err.value.problems] == ["server.session_secret", "qr.secret"]
    assert all("placeholder" in p for p in err.value.problems)


def test_cli_prints_one_line_per_problem_and_no_traceback(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[wecom]\ncorp_id = ""\nagent_id = 0\n[server]\nport = -1\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "opsbot.cli", "--config", str(config), "serve"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("config error:")]
    assert any("wecom.corp_id" in line for line in lines) and any("server.port" in line for line in lines)


def test_cli_reports_a_toml_syntax_error_clearly(tmp_path: Path) -> None:
    config = tmp_path / "broken.toml"
    config.write_text("[wecom\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "opsbot.cli", "--config", str(config), "db", "upgrade"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "not valid TOML" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("where", ["before", "after"])
def test_config_is_accepted_before_and_after_the_subcommand(tmp_path: Path, where: str) -> None:
    """`opsbot db upgrade --config FILE` and `opsbot --config FILE db upgrade` both use FILE."""
    database = tmp_path / "either.db"
    config = tmp_path / "db.toml"
    config.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{database}"\n', encoding="utf-8")
    words = ["--config", str(config), "db", "upgrade"] if where == "before" else ["db", "upgrade", "--config",
                                                                                   str(config)]
    result = subprocess.run([sys.executable, "-m", "opsbot.cli", *words], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert database.exists()


def test_a_feature_settings_module_that_fails_to_import_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: a broken feature module used to leave its table unchecked, silently."""
    from bot import settings as settings_module
    from tests.conftest import make_settings

    monkeypatch.setitem(settings_module.FEATURE_SETTINGS, "reports", "bot.reports.no_such_module:ReportsSettings")
    with pytest.raises(ImportError, match="no_such_module"):
        make_settings("sqlite+aiosqlite://", reports={"undo_minutes": 5})


@pytest.mark.parametrize("url", ["mysql+aiomysql://root@127.0.0.1:3306/ops", "mariadb+asyncmy://x@y/z"])
def test_mariadb_is_refused_with_one_clear_line(url: str) -> None:
    """No half support: MariaDB/MySQL is not run by the database tests, so the config refuses it."""
    with pytest.raises(SettingsError) as caught:
        settings_from_dict({"database": {"url": url}}, needs={"database"})
    assert caught.value.problems == ["database.url: MariaDB/MySQL is not supported; use postgresql+asyncpg:// "
                                     "in production (or the embedded sqlite+aiosqlite:// for a trial)"]
