"""`opsbot demo` as a newcomer runs it: a real process on free ports that answers, stops on Ctrl-C, keeps data."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.demo.conftest import free_port

pytestmark = pytest.mark.slow
READY = "Press Ctrl-C to stop."
CONFIG = """
[plant]
name = "示范工厂"
[server]
host = "127.0.0.1"
port = {bot}
public_url = "http://127.0.0.1:{bot}"
session_secret = "demo-session-secret-not-for-production"  # the demo's own values: accepted by `opsbot demo`
[wecom]
corp_id = "wwsandbox0000000001"
agent_id = 1000002
secret = "sandbox-secret"
token = "sandboxtoken"
encoding_aes_key = "b3BzYm90LWRlbW8tYWVzLWtleS0zMi1ieXRlcy1vayE"
[database]
url = "sqlite+aiosqlite:///{db}"
[qr]
secret = "demo-qr-secret-not-for-production"
[sandbox]
host = "127.0.0.1"
port = {sandbox}
[demo]
opcua_port = {opcua}
"""


class Demo:
    """One `opsbot demo` process whose output is collected line by line."""

    def __init__(self, config: Path) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "opsbot.cli", "--config", str(config), "demo"], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, env=env, cwd=Path(__file__).resolve().parents[2])
        self.lines: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if READY in line:
                self.ready.set()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready.wait(0.1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("demo did not start:\n" + "\n".join(self.lines))

    def stop(self, timeout: float = 15) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def ports() -> dict[str, int]:
    return {"bot": free_port(), "sandbox": free_port(), "opcua": free_port()}


@pytest.fixture
def config(tmp_path: Path, ports: dict[str, int]) -> Path:
    path = tmp_path / "demo.toml"
    path.write_text(CONFIG.format(db=tmp_path / "demo.db", **ports), encoding="utf-8")
    return path


@pytest.fixture
def demo(config: Path) -> Iterator[Demo]:
    process = Demo(config)
    try:
        yield process
    finally:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait()


def fetch(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode("utf-8")


def test_demo_starts_answers_and_stops_on_ctrl_c(demo: Demo, config: Path, ports: dict[str, int]) -> None:
    demo.wait_ready()
    phone_line = next(i for i, line in enumerate(demo.lines) if "/phone" in line)
    assert phone_line == min(i for i, line in enumerate(demo.lines) if "http://" in line), "phone URL first"
    assert "seeded the demo plant" in demo.output and "20 users" in demo.output
    assert fetch(f"http://127.0.0.1:{ports['bot']}/healthz") == (200, '{"ok": true}')
    status, page = fetch(f"http://127.0.0.1:{ports['sandbox']}/phone")
    assert status == 200 and "opsbot 生产助手" in page
    status, landing = fetch(f"http://127.0.0.1:{ports['bot']}/")
    assert f"http://127.0.0.1:{ports['sandbox']}/phone" in landing
    with socket.create_connection(("127.0.0.1", ports["opcua"]), timeout=2):
        pass  # the OPC UA simulator listens
    assert demo.stop() == 0
    assert "Traceback" not in demo.output

    again = Demo(config)  # a second run keeps the plant and whatever happened in it
    try:
        again.wait_ready()
        assert "database kept" in again.output and "seeded" not in again.output
    finally:
        assert again.stop() == 0


@pytest.mark.parametrize(("part", "label"), [("sandbox", "sandbox"), ("bot", "bot"), ("opcua", "OPC UA simulator")])
def test_busy_port_is_one_clear_line(config: Path, ports: dict[str, int], part: str, label: str) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", ports[part]))
        blocker.listen()
        result = subprocess.run([sys.executable, "-m", "opsbot.cli", "--config", str(config), "demo"],
                                capture_output=True, text=True, timeout=60,
                                cwd=Path(__file__).resolve().parents[2])
    assert result.returncode != 0
    assert f"error: port {ports[part]} on 127.0.0.1 is already in use ({label})" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
