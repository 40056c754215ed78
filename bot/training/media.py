"""The demo's videos and covers, made on this machine by ffmpeg (from the imageio-ffmpeg wheel): nothing is
downloaded and no binary is committed. Each clip is a few seconds of a test pattern with a tone."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DemoClip:
    name: str  # file stem under the media folder
    source: str  # lavfi test source
    seconds: int


DEMO_CLIPS = (DemoClip("safety", "testsrc2", 6), DemoClip("quality", "smptebars", 8),
              DemoClip("dispatch", "rgbtestsrc", 5))


def ffmpeg() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def make_clip(clip: DemoClip, folder: Path) -> list[Path]:
    """Writes <name>.mp4 (H.264 baseline + AAC, faststart: plays in any phone's webview) and <name>.jpg."""
    folder.mkdir(parents=True, exist_ok=True)
    video, cover = folder / f"{clip.name}.mp4", folder / f"{clip.name}.jpg"
    exe = ffmpeg()
    lavfi = f"{clip.source}=size=320x180:rate=15:duration={clip.seconds}"
    subprocess.run([exe, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", lavfi, "-f", "lavfi",
                    "-i", f"sine=frequency=440:duration={clip.seconds}", "-c:v", "libx264", "-preset", "veryfast",
                    "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "48k", "-shortest",
                    "-movflags", "+faststart", str(video)], check=True, timeout=60)
    subprocess.run([exe, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"{clip.source}=size=320x180:duration=1", "-frames:v", "1", str(cover)], check=True, timeout=60)
    return [video, cover]


def ensure_demo_media(folder: Path) -> list[Path]:
    """Makes the clips that are missing; returns the files made (none when all were there)."""
    made: list[Path] = []
    for clip in DEMO_CLIPS:
        if not (folder / f"{clip.name}.mp4").exists() or not (folder / f"{clip.name}.jpg").exists():
            made += make_clip(clip, folder)
    return made
