"""Training test helpers: the demo's clips made once per test process (ffmpeg from the imageio-ffmpeg wheel),
a clock the test moves, and the stack settings that point the bot at those clips."""
from __future__ import annotations

import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.training.media import ensure_demo_media
from tests.clock import StoppedClock


@lru_cache(maxsize=1)
def _made() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="opsbot-training-media-"))
    ensure_demo_media(folder)
    return folder


def media_copy(target: Path) -> Path:
    """A private copy of the clips (a test may break or remove one)."""
    shutil.copytree(_made(), target, dirs_exist_ok=True)
    return target


def training_overrides(media: Path, **extra: Any) -> dict[str, dict[str, Any]]:
    return {"training": {"media_dir": str(media), **extra}}


Clock = StoppedClock  # the training tests' name for it
