"""`opsbot doctor`: commissioning checks, one line each with a hint, so a plant engineer finds what is missing.

Each check is independent (a dead database does not hide a wrong WeCom secret) and none changes anything:
no message is sent, no migration is run. The order follows the way a new install usually fails.
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp

from bot.settings import Settings

OK, WARN, FAIL = "ok", "warn", "FAIL"
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=8)


@dataclass(frozen=True)
class Finding:
    status: str  # ok | warn | FAIL
    check: str
    detail: str
    hint: str = ""

    def line(self) -> str:
        text = f"[{self.status:>4}] {self.check}: {self.detail}"
        return f"{text} — {self.hint}" if self.hint else text


async def check_database(settings: Settings) -> list[Finding]:
    """Reachable, and the schema at the newest migration (`opsbot db upgrade` otherwise)."""
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from bot.db import make_engine
    from bot.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(settings.database.url)).get_current_head()
    engine = make_engine(settings.database.url)
    try:
        async with engine.connect() as conn:
            try:
                current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
            except Exception:  # noqa: BLE001 - no table: never migrated
                current = None
    except Exception as exc:  # noqa: BLE001 - every driver raises its own type
        return [Finding(FAIL, "database", f"cannot connect ({type(exc).__name__}: {str(exc)[:120]})",
                        "check [database] url (or OPSBOT_DATABASE_URL) and that the server runs")]
    finally:
        await engine.dispose()
    if current != head:
        return [Finding(FAIL, "database", f"schema at {current or 'nothing'}, the code needs {head}",
                        "run: opsbot db upgrade")]
    return [Finding(OK, "database", f"reachable, schema at {head}")]


async def check_wecom(settings: Settings, http: aiohttp.ClientSession) -> list[Finding]:
    """gettoken (secret, corp id), then an API that WeCom refuses from an untrusted server IP (60020)."""
    from integrations.wecom.client import WeComClient
    from integrations.wecom.errors import WeComError

    wecom = settings.wecom
    client = WeComClient(http, corp_id=wecom.corp_id, secret=wecom.secret, agent_id=wecom.agent_id,
                         api_base=wecom.api_base, oauth_base=wecom.oauth_base, max_attempts=1)
    try:
        await client.access_token()
    except WeComError as exc:
        hint = {40001: "the app's Secret is wrong: copy it again from 应用管理 → the app → Secret",
                40013: "[wecom] corp_id is wrong: 我的企业 → 企业ID"}.get(exc.errcode, "see the WeCom error code")
        return [Finding(FAIL, "wecom credentials", f"gettoken refused: errcode {exc.errcode} {exc.errmsg}", hint)]
    except aiohttp.ClientError as exc:
        return [Finding(FAIL, "wecom credentials", f"{wecom.api_base} unreachable ({type(exc).__name__})",
                        "check the server's outbound HTTPS access")]
    findings = [Finding(OK, "wecom credentials", f"gettoken ok for corp {wecom.corp_id}, agent {wecom.agent_id}")]
    try:
        await client.jsapi_ticket()
    except WeComError as exc:
        hint = ("add this server's public IP to the app's 企业可信IP" if exc.errcode == 60020
                else "see the WeCom error code")
        findings.append(Finding(FAIL, "wecom trusted IP", f"API refused: errcode {exc.errcode} {exc.errmsg}", hint))
    else:
        findings.append(Finding(OK, "wecom trusted IP", "API calls accepted from this server"))
    return findings


async def check_callback(settings: Settings, http: aiohttp.ClientSession) -> list[Finding]:
    """The callback URL answers WeCom's verification request, signed with our own Token and AES key."""
    from integrations.wecom.crypto import CallbackCrypto

    wecom = settings.wecom
    url = f"{settings.server.base_url}/wecom/callback"
    crypto = CallbackCrypto(wecom.token, wecom.encoding_aes_key, wecom.corp_id)
    echo = secrets.token_hex(8)
    timestamp, nonce = str(int(time.time())), secrets.token_hex(6)
    encrypted = crypto.encrypt(echo)
    query = (f"msg_signature={crypto.sign(timestamp, nonce, encrypted)}&timestamp={timestamp}&nonce={nonce}"
             f"&echostr={quote(encrypted, safe='')}")
    try:
        async with http.get(f"{url}?{query}", timeout=HTTP_TIMEOUT) as response:
            body = await response.text()
            status = response.status
    except (TimeoutError, aiohttp.ClientError) as exc:
        return [Finding(FAIL, "callback URL", f"{url} unreachable ({type(exc).__name__})",
                        "start `opsbot serve` and check [server] public_url and the reverse proxy")]
    if status == 200 and body == echo:
        return [Finding(OK, "callback URL", f"{url} answers WeCom's verification")]
    return [Finding(FAIL, "callback URL", f"{url} answered {status} {body[:80]!r}",
                    "Token and EncodingAESKey must match the app's 接收消息 settings")]


async def check_oauth_domain(settings: Settings, http: aiohttp.ClientSession) -> list[Finding]:
    """WeCom refuses an OAuth redirect outside the app's trusted domain (50001), which breaks every H5 page."""
    wecom, base = settings.wecom, settings.server.base_url
    redirect = quote(f"{base}/h5/oauth", safe="")
    url = (f"{wecom.oauth_base}/connect/oauth2/authorize?appid={wecom.corp_id}&redirect_uri={redirect}"
           f"&response_type=code&scope=snsapi_base&state=doctor&agentid={wecom.agent_id}#wechat_redirect")
    host = base.split("://", 1)[-1].split("/", 1)[0]
    try:
        async with http.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT) as response:
            errcode = response.headers.get("X-Errcode", "")
            body = await response.text()
    except (TimeoutError, aiohttp.ClientError) as exc:
        return [Finding(WARN, "oauth trusted domain", f"{wecom.oauth_base} unreachable ({type(exc).__name__})",
                        f"make sure {host} is the app's 网页授权及JS-SDK trusted domain")]
    if errcode == "50001" or "50001" in body:
        return [Finding(FAIL, "oauth trusted domain", f"{host} is not the app's trusted domain",
                        "应用管理 → the app → 网页授权及JS-SDK → 可信域名")]
    if errcode:  # the sandbox answers, and the domain passed: only the member is missing
        return [Finding(OK, "oauth trusted domain", f"{host} accepted")]
    return [Finding(WARN, "oauth trusted domain", "WeCom checks it only inside the app",
                    f"open an H5 page from the app once; {host} must be its trusted domain")]


async def check_opcua(settings: Settings) -> list[Finding]:
    """Each endpoint connects and every configured node id reads with a Good status."""
    from bot.equipment.probe import poll_once

    equipment = settings.feature("equipment")
    if not equipment.endpoints:
        return [Finding(OK, "opc ua", "no endpoints configured ([equipment])")]
    report = await poll_once(equipment)
    findings = []
    for endpoint in report["endpoints"]:
        name = f"opc ua {endpoint['name']}"
        if not endpoint["ok"]:
            findings.append(Finding(FAIL, name, f"{endpoint['url']}: {endpoint['error']}",
                                    "check the URL, the network and the endpoint's security settings"))
            continue
        bad = [f"{m['code']}/{tag} {t['status']}" for m in endpoint["machines"]
               for tag, t in m.get("tags", {}).items() if t["status"] != "Good"]
        if bad:
            findings.append(Finding(FAIL, name, f"bad node ids: {', '.join(bad[:5])}"
                                    + (f" and {len(bad) - 5} more" if len(bad) > 5 else ""),
                                    "`opsbot equipment poll --once` lists every tag"))
        else:
            findings.append(Finding(OK, name, f"{len(endpoint['machines'])} machines read in "
                                    f"{endpoint['duration_ms']} ms"))
    return findings


def check_font(find_font: Callable[[], object | None] | None = None) -> list[Finding]:
    """Charts need a CJK font, or every Chinese label is a row of boxes."""
    if find_font is None:
        from bot.kpi.chart import cjk_font as find_font
    if find_font() is None:
        return [Finding(FAIL, "chart font", "no CJK font found for charts",
                        "install one: apt-get install fonts-noto-cjk")]
    return [Finding(OK, "chart font", "CJK font installed")]


async def run_checks(settings: Settings, *, find_font: Callable[[], object | None] | None = None) -> list[Finding]:
    findings: list[Finding] = [Finding(OK, "config", f"loaded from {settings.source}")]
    findings += await _guarded("database", check_database(settings))
    async with aiohttp.ClientSession() as http:
        findings += await _guarded("wecom credentials", check_wecom(settings, http))
        findings += await _guarded("callback URL", check_callback(settings, http))
        findings += await _guarded("oauth trusted domain", check_oauth_domain(settings, http))
    findings += await _guarded("opc ua", check_opcua(settings))
    findings += check_font(find_font)
    return findings


async def _guarded(name: str, check: Awaitable[list[Finding]]) -> list[Finding]:
    """A check that crashes is one failed line, not a traceback that hides the other checks."""
    try:
        return await check
    except Exception as exc:  # noqa: BLE001 - reported as a finding
        return [Finding(FAIL, name, f"check failed: {type(exc).__name__}: {str(exc)[:160]}")]
