"""Just enough of ISO BMFF (MP4) to tell a real, complete video from a broken file and read its duration.

A file is accepted when it starts with an `ftyp` box, every top-level box fits inside the file (a truncated
upload fails here) and `moov/mvhd` gives a positive duration. Only box headers are read, so a large file is
checked in microseconds wherever its `moov` sits (front with faststart, or at the end)."""
from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO


class Mp4Error(ValueError):
    """Why a file is not a playable MP4, in words fit for one line of `opsbot training check`."""


def _boxes(handle: BinaryIO, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload start, box end) of each box between `start` and `end`."""
    found, at = [], start
    while at < end:
        handle.seek(at)
        header = handle.read(8)
        if len(header) < 8:
            raise Mp4Error(f"truncated box header at byte {at}")
        size, kind = struct.unpack(">I4s", header)
        payload = at + 8
        if size == 1:
            large = handle.read(8)
            if len(large) < 8:
                raise Mp4Error(f"truncated box header at byte {at}")
            size, payload = struct.unpack(">Q", large)[0], at + 16
        elif size == 0:
            size = end - at
        if size < payload - at or at + size > end:
            raise Mp4Error(f"box {kind.decode('latin-1')!r} at byte {at} runs past the end (file truncated?)")
        found.append((kind, payload, at + size))
        at += size
    return found


def mp4_duration(path: Path) -> float:
    """Seconds of the movie; Mp4Error when the file is not a complete MP4."""
    size = path.stat().st_size
    if size < 16:
        raise Mp4Error(f"only {size} bytes, not a video")
    with path.open("rb") as handle:
        if handle.read(8)[4:8] != b"ftyp":
            raise Mp4Error("not an MP4 (no ftyp box at the start)")
        top = _boxes(handle, 0, size)
        moov = next((box for box in top if box[0] == b"moov"), None)
        if moov is None:
            raise Mp4Error("no moov box (not a finished MP4)")
        mvhd = next((box for box in _boxes(handle, moov[1], moov[2]) if box[0] == b"mvhd"), None)
        if mvhd is None:
            raise Mp4Error("no mvhd box in moov")
        handle.seek(mvhd[1])
        head = handle.read(32)
        if not head:
            raise Mp4Error("empty mvhd box")
        if head[0] == 1:
            timescale, duration = struct.unpack(">IQ", head[20:32])
        else:
            timescale, duration = struct.unpack(">II", head[12:20])
    if timescale == 0 or duration == 0:
        raise Mp4Error("duration is zero or unreadable")
    return duration / timescale
