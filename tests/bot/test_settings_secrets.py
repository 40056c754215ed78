"""Signing secrets: `opsbot serve` refuses a missing, short, published or demo secret before it opens a port."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from secrets import token_urlsafe
from typing import Any

import pytest

from bot.settings import DEMO_CONFIG, settings_from_dict
from bot.settings_schema import SettingsError
from bot.settings_secrets import DEMO_QR_SECRET, DEMO_SESSION_SECRET, MAKE_ONE
from tests.conftest import DEMO_AES_KEY

ROOT = Path(__file__).resolve().parents[2]
SERVE_NEEDS = {"wecom", "database", "qr", "server"}
DEMO_NEEDS = SERVE_NEEDS | {"demo"}


def config_data(session_secret: str | None, qr_secret: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "server": {"host": "127.0.0.1", "port": 8080},
        "wecom": {"corp_id": "wwsandbox0000000001", "agent_id": 1000002, "secret": "sandbox-secret",
                  "token": "sandboxtoken", "encoding_aes_key": DEMO_AES_KEY},
        "database": {"url": "sqlite+aiosqlite:///x.db"},
        "qr": {},
    }
    if session_secret is not None:
        data["server"]["session_secret"] = session_secret
    if qr_secret is not None:
        data["qr"]["secret"] = qr_secret
    return data


def problems_of(data: dict[str, Any], needs: set[str]) -> list[str]:
    try:
        settings_from_dict(data, needs=needs)
    except SettingsError as exc:
        return exc.problems
    return []


@pytest.mark.parametrize("weak", [
    None, "", "change-me-session-secret", "change-me-long-random", "short-but-random-Xq9",
    "a" * 40, "CHANGE_ME_to_something_long_enough_0123456789",
])
def test_weak_session_and_qr_secrets_are_refused(weak: str | None) -> None:
    problems = problems_of(config_data(weak, weak), SERVE_NEEDS)
    assert [p.split(":", 1)[0] for p in problems] == ["server.session_secret", "qr.secret"]
    assert MAKE_ONE in problems[0] and "OPSBOT_SERVER_SESSION_SECRET" in problems[0]
    assert "OPSBOT_QR_SECRET" in problems[1]


def test_generated_secrets_pass() -> None:
    assert problems_of(config_data(token_urlsafe(32), token_urlsafe(32)), SERVE_NEEDS) == []


def test_a_command_without_the_server_or_qr_section_does_not_ask_for_their_secrets() -> None:
    assert problems_of(config_data(None, None), {"database"}) == []


def test_demo_values_pass_only_in_the_demo() -> None:
    demo = config_data(DEMO_SESSION_SECRET, DEMO_QR_SECRET)
    assert problems_of(demo, DEMO_NEEDS) == []
    problems = problems_of(demo, SERVE_NEEDS)
    assert len(problems) == 2 and all("opsbot demo" in p for p in problems)


def test_the_demo_still_refuses_a_weak_secret_that_is_not_its_own() -> None:
    assert [p.split(":", 1)[0] for p in problems_of(config_data("short", DEMO_QR_SECRET), DEMO_NEEDS)] == [
        "server.session_secret"]


def serve(config: Path | None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "opsbot.cli", *(["--config", str(config)] if config else []), "serve"]
    clean = {k: v for k, v in os.environ.items()
             if k not in ("OPSBOT_CONFIG", "OPSBOT_SERVER_SESSION_SECRET", "OPSBOT_QR_SECRET")}
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env={**clean, **(env or {})}, cwd=ROOT)


def toml_config(tmp_path: Path, port: int, session_secret: str | None, qr_secret: str | None) -> Path:
    lines = ["[server]", 'host = "127.0.0.1"', f"port = {port}"]
    lines += [f'session_secret = "{session_secret}"'] if session_secret is not None else []
    lines += ["[wecom]", 'corp_id = "wwsandbox0000000001"', "agent_id = 1000002", 'secret = "sandbox-secret"',
              'token = "sandboxtoken"', f'encoding_aes_key = "{DEMO_AES_KEY}"',
              "[database]", f'url = "sqlite+aiosqlite:///{tmp_path / "x.db"}"', "[qr]"]
    lines += [f'secret = "{qr_secret}"'] if qr_secret is not None else []
    path = tmp_path / "opsbot.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("session_secret", "qr_secret", "expected"), [
    (None, None, "missing"),
    ("change-me-to-a-random-secret-of-32-characters-or-more", "change-me-to-another-random-secret-of-32-characters",
     "placeholder"),
    ("Xq9-short-random", "Zr7-short-random", "only 16 characters"),
    (DEMO_SESSION_SECRET, DEMO_QR_SECRET, "opsbot demo"),
], ids=["missing", "example-placeholder", "short", "demo-values"])
def test_serve_exits_2_before_opening_its_port(tmp_path: Path, session_secret: str | None, qr_secret: str | None,
                                               expected: str) -> None:
    with socket.socket() as blocker:  # held: a serve that got as far as listening would say the port is busy
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = int(blocker.getsockname()[1])
        result = serve(toml_config(tmp_path, port, session_secret, qr_secret))
    errors = [line for line in result.stderr.splitlines() if line.startswith("config error:")]
    assert result.returncode == 2, result.stderr
    assert [e.split(":", 2)[1].strip() for e in errors] == ["server.session_secret", "qr.secret"], result.stderr
    assert all(expected in e for e in errors), result.stderr
    assert "already in use" not in result.stderr and "Traceback" not in result.stderr


def test_serve_with_the_demo_config_says_to_run_the_demo() -> None:
    result = serve(DEMO_CONFIG)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("config error:")]
    assert len(errors) == 2 and all("`opsbot demo`" in e for e in errors), result.stderr


def test_serve_takes_the_secrets_from_the_environment(tmp_path: Path) -> None:
    """Weak values in the file, strong ones in the environment: the environment wins, so the check passes and
    serve goes on to listen; the port is held, so it stops there with the busy-port line."""
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = int(blocker.getsockname()[1])
        result = serve(toml_config(tmp_path, port, "short", None),
                       env={"OPSBOT_SERVER_SESSION_SECRET": token_urlsafe(32), "OPSBOT_QR_SECRET": token_urlsafe(32)})
    assert "config error" not in result.stderr, result.stderr
    assert result.returncode != 0 and "already in use" in result.stderr
