"""N `opsbot serve` replicas on one database behind Debian's nginx, run from the nginx file in docs/deployment.md;
shared by tests/e2e/test_replicas.py and bench/replicas.py (which runs from the checkout, tests included)."""
from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "deployment.md"
OPSBOT = Path(sys.executable).with_name("opsbot")
QR_SECRET = secrets.token_urlsafe(32)  # `opsbot serve` refuses short or published secrets
SESSION_SECRET = secrets.token_urlsafe(32)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def nginx_binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def documented_site() -> str:
    """The nginx site block of docs/deployment.md, exactly as an operator would copy it."""
    match = re.search(r"```nginx\n(# /etc/nginx/conf.d/opsbot.conf\n.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    if match is None:
        raise RuntimeError("docs/deployment.md has no `# /etc/nginx/conf.d/opsbot.conf` block")
    return match.group(1)


def local_site(ports: list[int], listen: int) -> str:
    """The documented site on loopback: our replicas as upstreams, plain HTTP instead of TLS."""
    site = documented_site()
    servers = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;\n" for p in ports)
    site = re.sub(r"(    server 10\.0\.0\.\d+:8080[^\n]*\n)+", servers, site)
    site = site.replace("    listen 443 ssl;\n", f"    listen 127.0.0.1:{listen};\n")
    return re.sub(r"    ssl_certificate[^\n]*\n", "", site)


class Nginx:
    """nginx in the foreground with its own prefix (no root-owned paths), stopped by the caller."""

    def __init__(self, directory: Path, ports: list[int]) -> None:
        self.directory, self.port = directory, free_port()
        self.process: asyncio.subprocess.Process | None = None
        directory.mkdir(parents=True, exist_ok=True)
        temp = "\n".join(f"    {kind}_temp_path {directory}/{kind};" for kind in
                         ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (directory / "nginx.conf").write_text(
            f"worker_processes 1;\npid {directory}/nginx.pid;\nerror_log {directory}/error.log warn;\n"
            f"events {{ worker_connections 1024; }}\n"
            f"http {{\n    access_log off;\n{temp}\n{local_site(ports, self.port)}}}\n", encoding="utf-8")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        binary = nginx_binary()
        assert binary is not None
        self.process = await asyncio.create_subprocess_exec(
            binary, "-p", str(self.directory), "-c", str(self.directory / "nginx.conf"), "-g", "daemon off;",
            stdout=asyncio.subprocess.DEVNULL, stderr=(self.directory / "stderr.log").open("wb"))
        await wait_http(f"{self.url}/healthz", lambda: self.process.returncode is None,  # type: ignore[union-attr]
                        self.directory / "error.log")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGQUIT)
            await asyncio.wait_for(self.process.wait(), timeout=10)


@dataclass
class Replica:
    """One `opsbot serve` with its own port and replica id, which the caller may SIGKILL at any instant."""

    name: str
    config: Path
    port: int
    log: Path
    process: asyncio.subprocess.Process | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                str(OPSBOT), "--config", str(self.config), "serve", "--port", str(self.port), stdout=log, stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **self.extra_env})

    async def ready(self) -> None:
        await wait_http(f"http://127.0.0.1:{self.port}/readyz", self.alive, self.log, ok_only=True)

    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), timeout=30)


def replica_config(*, db_url: str, public_url: str, api: str, corp_id: str, agent_id: int, secret: str, token: str,
                   aes_key: str, replica: str, extra: str = "") -> str:
    return f"""
[server]
host = "127.0.0.1"
public_url = "{public_url}"
session_secret = "{SESSION_SECRET}"
[wecom]
corp_id = "{corp_id}"
agent_id = {agent_id}
secret = "{secret}"
token = "{token}"
encoding_aes_key = "{aes_key}"
api_base = "{api}"
oauth_base = "{api}"
[database]
url = "{db_url}"
[qr]
secret = "{QR_SECRET}"
[leases]
replica_id = "{replica}"
{extra}
"""


async def stamp_head(db_url: str) -> None:
    """A schema made from the models (as tests and benchmarks make it) marked as migrated, so /readyz is 200."""
    from sqlalchemy import text

    from bot.db import make_engine
    from bot.web.health import migration_head

    engine = make_engine(db_url)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        await conn.execute(text("DELETE FROM alembic_version"))
        await conn.execute(text("INSERT INTO alembic_version VALUES (:head)"), {"head": migration_head()})
    await engine.dispose()


async def wait_http(url: str, alive, log: Path, *, ok_only: bool = False, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    import aiohttp

    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url) as response:
                    if response.status == 200 or (not ok_only and response.status < 500):
                        return
            except aiohttp.ClientError:
                pass
            if not alive():
                raise RuntimeError(f"{url}: process died:\n{log.read_text(errors='replace')[-3000:]}")
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")
