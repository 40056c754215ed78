"""The training catalog a plant edits without code (content/training/catalog.toml + the media folder).

Loading never raises for content: every problem is one readable line (`opsbot training check` prints them, the
app logs them at start), and an item whose video is missing or broken stays listed but cannot be played."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.models import Role
from bot.training.mp4 import Mp4Error, mp4_duration

ROLES = {role.value for role in Role}
CODE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True)
class Question:
    text: str
    options: tuple[str, ...]
    answer: int  # index into options, 0-based


@dataclass(frozen=True)
class Quiz:
    questions: tuple[Question, ...]
    pass_mark: int  # correct answers needed


@dataclass(frozen=True)
class Item:
    code: str
    title: str
    description: str
    roles: tuple[str, ...]
    lines: tuple[str, ...]
    duration_s: float  # the file's own duration when there is a file, else the catalog's
    version: int
    video: Path | None
    url: str
    cover: Path | None
    tags: tuple[str, ...]
    required: dict[str, float]  # role -> days to complete after assignment
    quiz: Quiz | None
    video_bytes: int = 0
    playable: bool = True

    def for_line(self, line_code: str | None) -> bool:
        return not self.lines or line_code in self.lines


@dataclass
class Catalog:
    items: dict[str, Item] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    media_dir: Path = Path(".")
    root: Path = Path(".")  # media_dir resolved once at load: every media path was checked to lie inside it

    def get(self, code: str) -> Item | None:
        return self.items.get(code)


_cache: dict[tuple[Path, Path], tuple[tuple[int, ...], Catalog]] = {}


def load_catalog(path: Path, media_dir: Path) -> Catalog:
    """The catalog, reloaded only when the TOML or a media file changed (the player asks on every request)."""
    key = (path, media_dir)
    stamp = _stamp(path, media_dir)
    cached = _cache.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    catalog = parse_catalog(path, media_dir)
    _cache[key] = (stamp, catalog)
    return catalog


def _stamp(path: Path, media_dir: Path) -> tuple[int, ...]:
    """Two stat calls: the video route asks on every Range request, so no exists()-then-stat() pairs."""
    stamps = []
    for candidate in (path, media_dir):
        try:
            stamps.append(os.stat(candidate).st_mtime_ns)
        except OSError:
            stamps.append(0)
    return tuple(stamps)


def parse_catalog(path: Path, media_dir: Path) -> Catalog:
    catalog = Catalog(media_dir=media_dir, root=media_dir.resolve())
    if not path.exists():
        catalog.problems.append(f"{path}: catalog file missing")
        return catalog
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        catalog.problems.append(f"{path}: not valid TOML ({exc})")
        return catalog
    for number, raw in enumerate(data.get("item", []), start=1):
        where = f"item {number} ({raw.get('code', '?')})"
        problems: list[str] = []
        item = _item(raw, media_dir, problems)
        catalog.problems += [f"{where}: {p}" for p in problems]
        if item is None:
            continue
        if item.code in catalog.items:
            catalog.problems.append(f"{where}: code {item.code} used twice")
            continue
        catalog.items[item.code] = item
    return catalog


def _item(raw: dict[str, Any], media_dir: Path, problems: list[str]) -> Item | None:
    code, title = str(raw.get("code", "")), str(raw.get("title", ""))
    if not code or not set(code) <= CODE_CHARS or len(code) > 32:
        problems.append("code: 1-32 letters, digits, - or _")
        return None
    if not title:
        problems.append("title is missing")
    roles = tuple(str(r) for r in raw.get("roles", []))
    if not roles or not set(roles) <= ROLES:
        problems.append(f"roles: a non-empty list of {', '.join(sorted(ROLES))}")
    required = {str(k): float(v) for k, v in dict(raw.get("required", {})).items()}
    if not set(required) <= set(roles):
        problems.append("required: only roles the item is for")
    version = raw.get("version", 1)
    if not isinstance(version, int) or version < 1:
        problems.append("version: a whole number from 1")
        version = 1
    video, url, playable, size = None, str(raw.get("url", "")), True, 0
    duration = float(raw.get("duration", 0) or 0)
    if raw.get("video"):
        video = _inside(media_dir, str(raw["video"]), "video", problems)
        try:
            if video is None:
                raise Mp4Error("not usable")
            duration, size = mp4_duration(video), video.stat().st_size
        except FileNotFoundError:
            problems.append(f"video {video} is missing")
            playable = False
        except (Mp4Error, OSError) as exc:
            if video is not None:
                problems.append(f"video {video} is broken: {exc}")
            playable = False
    elif url:
        if not url.startswith("https://"):
            problems.append("url: must start with https://")
    else:
        problems.append("needs a video file or an external url")
        playable = False
    cover = _inside(media_dir, str(raw["cover"]), "cover", problems) if raw.get("cover") else None
    if cover is not None and not cover.is_file():
        problems.append(f"cover {cover} is missing")
        cover = None
    if playable and duration <= 0:
        problems.append("duration: needed for an external url (seconds)")
    return Item(code, title, str(raw.get("description", "")), roles, tuple(str(x) for x in raw.get("lines", [])),
                duration, version, video, url, cover, tuple(str(t) for t in raw.get("tags", [])), required,
                _quiz(raw.get("quiz"), problems), size, playable)


def _inside(media_dir: Path, name: str, what: str, problems: list[str]) -> Path | None:
    """Media must sit inside the media folder: a catalog line never makes the bot serve /etc/passwd."""
    root = media_dir.resolve()
    candidate = (root / name).resolve()
    if not candidate.is_relative_to(root):
        problems.append(f"{what} {name!r} is outside the media folder {root}")
        return None
    return candidate


def _quiz(raw: Any, problems: list[str]) -> Quiz | None:
    if not raw:
        return None
    questions = []
    for number, q in enumerate(raw.get("question", []), start=1):
        options = tuple(str(o) for o in q.get("options", []))
        answer = q.get("answer")
        if len(options) < 2 or not isinstance(answer, int) or not 1 <= answer <= len(options):
            problems.append(f"quiz question {number}: 2+ options and answer = the right option's number")
            continue
        questions.append(Question(str(q.get("text", "")), options, answer - 1))
    if not 3 <= len(questions) <= 5:
        problems.append(f"quiz: 3 to 5 questions, got {len(questions)}")
    pass_mark = raw.get("pass", len(questions))
    if not isinstance(pass_mark, int) or not 1 <= pass_mark <= max(1, len(questions)):
        problems.append("quiz: pass must be 1..number of questions")
        pass_mark = len(questions)
    return Quiz(tuple(questions), pass_mark) if questions else None
