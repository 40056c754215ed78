"""opsbot settings: one TOML file, secrets overridable from the environment, every problem reported at once."""
from __future__ import annotations

import base64
import binascii
import logging
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.plant_calendar import PlantCalendar, ShiftSettings, default_shifts, shift_problems
from bot.settings_schema import SettingsError, from_mapping
from bot.settings_secrets import secret_problems

log = logging.getLogger(__name__)

DEMO_AES_KEY = "b3BzYm90LWRlbW8tYWVzLWtleS0zMi1ieXRlcy1vayE"
DEFAULT_CONFIG = Path("config/opsbot.toml")
DEMO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "demo.toml"
ENV_PREFIX = "OPSBOT_"
SECRET_FIELDS = {
    ("wecom", "secret"), ("wecom", "token"), ("wecom", "encoding_aes_key"), ("database", "url"), ("qr", "secret"),
    ("server", "session_secret"),
}


@dataclass
class PlantSettings:
    name: str = "示范工厂"
    timezone: str = "Asia/Shanghai"
    admin_contact: str = "系统管理员"
    shifts: list[ShiftSettings] = field(default_factory=list)  # empty: the deprecated feature lists, else D/N

    def validate(self) -> list[str]:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return [f"timezone: unknown time zone {self.timezone!r}"]
        return []


@dataclass
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""
    session_secret: str = ""  # no default: a value in the source is public (see bot/settings_secrets.py)

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def validate(self) -> list[str]:
        problems = []
        if not 0 <= self.port <= 65535:
            problems.append(f"port: {self.port} is not a TCP port")
        if self.public_url and not self.public_url.startswith(("http://", "https://")):
            problems.append("public_url: must start with http:// or https://")
        return problems


@dataclass
class WeComSettings:
    corp_id: str = ""
    agent_id: int = 0
    secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""
    api_base: str = "https://qyapi.weixin.qq.com"
    oauth_base: str = "https://open.weixin.qq.com"
    callback_max_age_s: int = 300
    reply_budget_s: float = 4.0
    max_body_bytes: int = 65536

    def validate(self) -> list[str]:
        problems = []
        for name in ("corp_id", "secret", "token"):
            if not getattr(self, name):
                problems.append(f"{name}: required (copy it from the WeCom admin console)")
        if self.agent_id <= 0:
            problems.append("agent_id: required, the app's AgentId (a positive number)")
        if len(self.encoding_aes_key) != 43:
            problems.append("encoding_aes_key: must be the 43-character EncodingAESKey")
        else:
            try:
                base64.b64decode(self.encoding_aes_key + "=", validate=True)
            except (binascii.Error, ValueError):
                problems.append("encoding_aes_key: not valid base64")
        for name in ("api_base", "oauth_base"):
            if not getattr(self, name).startswith(("http://", "https://")):
                problems.append(f"{name}: must start with http:// or https://")
        if not 30 <= self.callback_max_age_s <= 3600:
            problems.append("callback_max_age_s: between 30 and 3600 seconds")
        return problems


@dataclass
class DatabaseSettings:
    url: str = "sqlite+aiosqlite:///var/opsbot.db"

    def validate(self) -> list[str]:
        if self.url.startswith(("mysql", "mariadb")):
            # Not tested in CI and no driver installed: refused rather than half supported.
            return ["url: MariaDB/MySQL is not supported; use postgresql+asyncpg:// in production "
                    "(or the embedded sqlite+aiosqlite:// for a trial)"]
        if not self.url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            return ["url: use postgresql+asyncpg:// (production) or sqlite+aiosqlite:// (trial, demo)"]
        return []


@dataclass
class QrSettings:
    secret: str = ""  # checked with the other signing secrets by bot/settings_secrets.py


@dataclass
class SandboxSettings:
    host: str = "127.0.0.1"
    port: int = 8081


@dataclass
class DemoSettings:
    """`[demo]`: what `opsbot demo` starts beside the bot and the sandbox."""

    seed: bool = True
    opcua: bool = True
    opcua_host: str = "127.0.0.1"
    opcua_port: int = 4840
    simulator_speed: float = 1.0

    def validate(self) -> list[str]:
        problems = []
        if not 0 <= self.opcua_port <= 65535:
            problems.append(f"opcua_port: {self.opcua_port} is not a TCP port")
        if self.simulator_speed < 0:
            problems.append("simulator_speed: must not be negative")
        return problems


@dataclass
class OutboxSettings:
    poll_interval_s: float = 0.5
    # A woken sender waits this long for the burst to gather: one claim, quota count and wake-up for many rows.
    coalesce_s: float = 0.05
    batch_size: int = 50
    max_attempts: int = 8
    lease_s: float = 60.0
    duplicate_check_interval_s: int = 1800
    requests_per_second: int = 40  # WeCom allows 150,000 calls an hour per API and corp: about 41 a second
    per_member_per_minute: int = 30  # beyond this WeCom silently drops messages to that member


@dataclass
class JobSettings:
    cron: str = ""
    interval_s: float = 0.0
    enabled: bool = True


@dataclass
class Settings:
    plant: PlantSettings = field(default_factory=PlantSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    wecom: WeComSettings = field(default_factory=WeComSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    qr: QrSettings = field(default_factory=QrSettings)
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    demo: DemoSettings = field(default_factory=DemoSettings)
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    jobs: dict[str, JobSettings] = field(default_factory=dict)
    features: dict[str, Any] = field(default_factory=dict)
    source: str = "defaults"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.plant.timezone)

    @property
    def calendar(self) -> PlantCalendar:
        """The plant calendar every feature takes its shifts and day, week and month windows from."""
        return PlantCalendar(self.tz, self.plant.shifts or default_shifts())

    def feature(self, name: str) -> Any:
        """The parsed settings dataclass of a feature section (its defaults when the file has no such table)."""
        if name not in self.features:
            self.features[name] = _parse_feature(name, {}, [])
        return self.features[name]


CORE_SECTIONS = {"plant", "server", "wecom", "database", "qr", "sandbox", "demo", "outbox", "jobs"}
# Each feature section is parsed, and so validated at start, by the dataclass its module names here.
FEATURE_SETTINGS = {
    "reports": "bot.reports.settings:ReportsSettings",
    "equipment": "bot.equipment.settings:EquipmentSettings",
    "kpi": "bot.kpi.settings:KpiSettings",
    "training": "bot.training.settings:TrainingSettings",
    "issues": "bot.issues.settings:IssuesSettings",
    "patrols": "bot.patrols.settings:PatrolsSettings",
    "review": "bot.review.settings:ReviewSettings",
    "leases": "bot.equipment.leases:LeaseSettings",  # replicas: collector leases (docs/deployment.md)
    "metrics": "bot.metrics:MetricsSettings",  # /metrics listener or token (docs/deployment.md)
}
FEATURE_SECTIONS = set(FEATURE_SETTINGS)


def _parse_feature(name: str, raw: dict[str, Any], problems: list[str]) -> Any:
    """Named by string so that the core settings import no feature at import time; a module that is listed
    but fails to import is a broken install, so its error surfaces rather than its table going unchecked."""
    import importlib

    module_name, _, cls_name = FEATURE_SETTINGS[name].partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return from_mapping(cls, raw, name, problems)


ALWAYS_CHECKED = {"plant", "server", "database", "sandbox", "demo", "outbox", "jobs"}


def resolve_config_path(explicit: str | None) -> Path | None:
    """--config, else OPSBOT_CONFIG, else config/opsbot.toml, else None (demo defaults)."""
    if explicit:
        return Path(explicit)
    if os.environ.get("OPSBOT_CONFIG"):
        return Path(os.environ["OPSBOT_CONFIG"])
    if DEFAULT_CONFIG.exists():
        return DEFAULT_CONFIG
    return None


def _apply_env(data: dict[str, Any]) -> None:
    for section, name in SECRET_FIELDS:
        value = os.environ.get(f"{ENV_PREFIX}{section.upper()}_{name.upper()}")
        if value is not None:
            data.setdefault(section, {})[name] = value


def load_settings(path: str | Path | None = None, *, needs: set[str] | frozenset[str] = frozenset()) -> Settings:
    """Load and validate; `needs` names the sections whose required fields this command really uses."""
    config_path = resolve_config_path(str(path) if path else None)
    if config_path is None:
        config_path = DEMO_CONFIG
    if not config_path.exists():
        raise SettingsError([f"config: file not found: {config_path}"])
    try:
        data = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError([f"config: {config_path} is not valid TOML: {exc}"]) from None
    _apply_env(data)
    return settings_from_dict(data, needs=needs, source=str(config_path))


def settings_from_dict(data: dict[str, Any], *, needs: set[str] | frozenset[str] = frozenset(),
                       source: str = "dict") -> Settings:
    problems: list[str] = []
    for key in data:
        if key not in CORE_SECTIONS | FEATURE_SECTIONS:
            problems.append(f"{key}: unknown section")
    core = {k: v for k, v in data.items() if k in CORE_SECTIONS}
    scratch: list[str] = []
    settings = from_mapping(Settings, core, "", scratch)
    for problem in scratch:
        section = problem.lstrip(".").split(".", 1)[0].split("[", 1)[0]
        if section in ALWAYS_CHECKED or section in needs:
            problems.append(problem.lstrip("."))
    for name in FEATURE_SECTIONS:
        if name in data and not isinstance(data[name], dict):
            problems.append(f"{name}: expected a table")
            continue
        settings.features[name] = _parse_feature(name, data.get(name, {}), problems)
    _resolve_shifts(settings, data, problems)
    problems.extend(secret_problems(settings, needs))
    settings.source = source
    if problems:
        raise SettingsError(problems)
    return settings


DEPRECATED_SHIFTS = ("reports", "kpi")  # before the calendar moved to [plant], each of these had its own list


def _resolve_shifts(settings: Settings, data: dict[str, Any], problems: list[str]) -> None:
    """One shift calendar, in `[plant] shifts`; the old `[reports]` / `[kpi]` lists still work with a warning."""
    old = {name: data[name]["shifts"] for name in DEPRECATED_SHIFTS
           if isinstance(data.get(name), dict) and data[name].get("shifts")}
    if old:
        if "shifts" in (data.get("plant") or {}):
            problems.append(f"plant.shifts: also given as {', '.join(f'[{n}] shifts' for n in old)}; "
                            "keep only [[plant.shifts]]")
            return
        if len({repr(v) for v in old.values()}) > 1:
            problems.append("shifts: [reports] and [kpi] give different shift calendars; there is one calendar "
                            "now: move it to [[plant.shifts]]")
            return
        name, raw = next(iter(old.items()))
        log.warning("config: [%s] shifts is deprecated; move the list to [[plant.shifts]]", name)
        settings.plant.shifts = from_mapping(PlantSettings, {"shifts": raw}, "plant", problems).shifts
        where = f"{name}.shifts"
    else:
        where = "plant.shifts"
    settings.plant.shifts = settings.plant.shifts or default_shifts()
    problems.extend(shift_problems(settings.plant.shifts, where))
