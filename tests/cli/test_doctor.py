"""`opsbot doctor` against the running bot and sandbox: all green, then one readable line per broken part."""
from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from opsbot.doctor import FAIL, OK, Finding, run_checks
from tests.bot.equipment.support import equipment_config, parse
from tests.conftest import Stack

pytestmark = pytest.mark.db


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check: f for f in findings}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def migrated(stack: Stack) -> None:
    """The test database is built from the models; doctor wants the migration history a real install has."""
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from bot.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(stack.services.settings.database.url)).get_current_head()
    async with stack.services.sessions.begin() as session:
        await session.execute(text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL)"))
        await session.execute(text("DELETE FROM alembic_version"))
        await session.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": head})


async def test_every_check_passes_against_the_sandbox_and_the_simulator(stack: Stack, sim: Any) -> None:
    await migrated(stack)
    settings = stack.services.settings
    settings.features["equipment"] = parse(equipment_config(sim))
    findings = await run_checks(settings)
    assert [f.line() for f in findings if f.status != OK] == []
    assert {"config", "database", "wecom credentials", "wecom trusted IP", "callback URL", "oauth trusted domain",
            "opc ua sim", "chart font"} <= set(by_check(findings))


async def test_a_wrong_secret_an_untrusted_ip_and_a_wrong_aes_key_each_fail_with_one_line(stack: Stack) -> None:
    await migrated(stack)
    settings = stack.services.settings
    settings.wecom.secret = "not-the-app-secret"
    findings = by_check(await run_checks(settings))
    wrong = findings["wecom credentials"]
    assert wrong.status == FAIL and "40001" in wrong.detail and "Secret" in wrong.hint
    settings.wecom.secret = stack.sandbox.config.secret
    stack.sandbox.inject_fault("get_jsapi_ticket", errcode=60020)
    settings.wecom.token = "another-token"
    findings = by_check(await run_checks(settings))
    assert findings["wecom trusted IP"].status == FAIL and "可信IP" in findings["wecom trusted IP"].hint
    assert findings["callback URL"].status == FAIL and "Token" in findings["callback URL"].hint


async def test_an_unreachable_opcua_endpoint_and_a_missing_font_fail(stack: Stack) -> None:
    await migrated(stack)
    settings = stack.services.settings
    settings.features["equipment"] = parse({
        "endpoints": [{"name": "press", "url": f"opc.tcp://127.0.0.1:{free_port()}/"}],
        "machines": [{"code": "M1", "endpoint": "press", "tags": {"state": "ns=2;s=M1.State"}}]})
    findings = by_check(await run_checks(settings, find_font=lambda: None))
    assert findings["opc ua press"].status == FAIL and "opc.tcp://127.0.0.1" in findings["opc ua press"].detail
    assert findings["chart font"].status == FAIL and "fonts-noto-cjk" in findings["chart font"].hint


async def test_an_unmigrated_database_and_an_untrusted_domain_fail(stack: Stack) -> None:
    from sqlalchemy import text

    async with stack.services.sessions.begin() as session:  # alembic_version is not among the models' tables
        await session.execute(text("DROP TABLE IF EXISTS alembic_version"))
    settings = stack.services.settings
    stack.sandbox.config.trusted_domains = ["ops.example.com"]
    findings = by_check(await run_checks(settings))
    assert findings["database"].status == FAIL and "opsbot db upgrade" in findings["database"].hint
    assert findings["oauth trusted domain"].status == FAIL


def test_the_command_exits_1_with_one_line_per_config_problem(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[server]\nsession_secret = "short"\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "opsbot.cli", "doctor", "--config", str(config)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("[FAIL] config: server.session_secret") for line in lines)
    assert any(line.startswith("[FAIL] config: qr.secret") for line in lines)
