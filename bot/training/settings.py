"""`[training]` in the config: where the catalog and media are, how long a trial lasts, what counts as watched."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.templates import CONTENT_DIR

PROJECT_DIR = CONTENT_DIR.parent


@dataclass
class LineRobot:
    """A line's group robot, which gets the weekly leaderboard."""

    line: str = ""
    webhook_key: str = ""


@dataclass
class TrainingSettings:
    catalog: str = "content/training/catalog.toml"  # relative paths are from the project folder
    media_dir: str = "var/training"
    trial_days: float = 7.0  # a new version reaches everyone this long after seed users got it
    complete_percent: float = 90.0  # of the video actually played
    heartbeat_s: int = 5
    media_url_ttl_s: int = 7200  # the page's signed video/cover URLs (the page reloads itself past this)
    beat_key_ttl_s: int = 12 * 3600  # the page's signed heartbeat key: a page opened at shift start still counts
    remind_before_hours: float = 24.0
    promoter_roles: list[str] = field(default_factory=lambda: ["pm"])  # may release early (admins always)
    lead_role: str = "team_lead"  # hears about overdue required training on their line
    video_message_max_mb: float = 10.0  # WeCom's limit for a `video` message
    robots: list[LineRobot] = field(default_factory=list)

    @property
    def catalog_path(self) -> Path:
        return _resolve(self.catalog)

    @property
    def media_path(self) -> Path:
        return _resolve(self.media_dir)

    def validate(self) -> list[str]:
        problems = []
        if not 0 < self.complete_percent <= 100:
            problems.append("complete_percent: must be in (0, 100]")
        if self.heartbeat_s < 1:
            problems.append("heartbeat_s: at least 1")
        if self.media_url_ttl_s < 60 or self.beat_key_ttl_s < 60:
            problems.append("media_url_ttl_s/beat_key_ttl_s: at least 60")
        if self.trial_days < 0 or self.remind_before_hours < 0:
            problems.append("trial_days/remind_before_hours: must not be negative")
        return problems


def _resolve(path: str) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else PROJECT_DIR / candidate
