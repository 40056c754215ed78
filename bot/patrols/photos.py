"""A photo is accepted only when its bytes are an image (the declared type is not trusted) within the size cap."""
from __future__ import annotations

from bot.patrols.errors import PatrolRefused

SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"GIF87a", "image/gif"),
              (b"GIF89a", "image/gif"))


def check_image(content_type: str, data: bytes, max_bytes: int) -> str:
    """The image's real content type, or PatrolRefused (not_image / too_big)."""
    if len(data) > max_bytes:
        raise PatrolRefused("too_big", limit_mb=max_bytes // (1024 * 1024))
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, kind in SIGNATURES:
        if data.startswith(magic):
            return kind
    raise PatrolRefused("not_image")
