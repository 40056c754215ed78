"""Printable QR labels: PNG and SVG per label, and an A4 sheet to print and cut."""
from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import segno
from markupsafe import Markup

from bot.qr.payload import QrPayload
from bot.qr.signer import QrSigner
from bot.templates import Templates

QUIET_ZONE = 4
SHEET_TEMPLATE = "qr/labels.html.j2"
CAPTION_TEMPLATE = "qr/caption.txt.j2"


@dataclass(frozen=True)
class Label:
    """One label: the URL in the QR, a bold caption and further caption lines."""

    url: str
    title: str
    lines: Sequence[str] = field(default_factory=tuple)


def _qr(url: str) -> segno.QRCode:
    """Error correction M at least; segno raises it to Q or H when that fits in the same symbol size."""
    return segno.make_qr(url, error="m", boost_error=True)


def render_png(url: str, scale: int = 8) -> bytes:
    """A PNG of `scale` pixels per module with a 4-module quiet zone."""
    buffer = io.BytesIO()
    _qr(url).save(buffer, kind="png", scale=scale, border=QUIET_ZONE)
    return buffer.getvalue()


def render_svg(url: str, module_mm: float = 0.8) -> str:
    """A standalone SVG (no XML declaration, so it can also be inlined in HTML) sized in millimetres."""
    buffer = io.BytesIO()
    _qr(url).save(buffer, kind="svg", scale=module_mm, unit="mm", border=QUIET_ZONE, xmldecl=False, nl=False,
                  svgclass="qr", lineclass=None)
    return buffer.getvalue().decode("utf-8")


def render_label_sheet(labels: Sequence[Label], title: str, *, columns: int = 3, rows: int = 4,
                       templates: Templates | None = None) -> str:
    """An A4 HTML page of `columns` x `rows` labels per printed page, each QR as inline SVG."""
    if not labels:
        raise ValueError("no labels to print")
    if columns < 1 or rows < 1:
        raise ValueError("columns and rows must be positive")
    per_page = columns * rows
    cards = [{"svg": Markup(render_svg(label.url)), "title": label.title, "lines": list(label.lines)}
             for label in labels]
    pages = [cards[start:start + per_page] for start in range(0, len(cards), per_page)]
    return (templates or _default_templates()).render(
        SHEET_TEMPLATE, title=title, pages=pages, columns=columns, rows=rows)


def write_labels(labels: Sequence[Label], out_dir: Path, *, title: str = "",
                 templates: Templates | None = None) -> list[Path]:
    """Writes labels.html plus NNN-<name>.png/.svg per label; returns the paths, sheet first."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sheet = out_dir / "labels.html"
    sheet.write_text(render_label_sheet(labels, title, templates=templates), encoding="utf-8")
    written = [sheet]
    for number, label in enumerate(labels, start=1):
        stem = safe_file_stem(number, label.title)
        png, svg = out_dir / f"{stem}.png", out_dir / f"{stem}.svg"
        png.write_bytes(render_png(label.url))
        svg.write_text(render_svg(label.url), encoding="utf-8")
        written += [png, svg]
    return written


def safe_file_stem(number: int, title: str, max_length: int = 48) -> str:
    """A portable name: running number plus the ASCII letters/digits of the title (codes survive)."""
    ascii_title = unicodedata.normalize("NFKC", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", ascii_title).strip("-_")[:max_length].rstrip("-_")
    return f"{number:03d}-{slug}" if slug else f"{number:03d}"


def make_label(signer: QrSigner, payload: QrPayload, *, name: str = "",
               templates: Templates | None = None) -> Label:
    """A label with the plant's caption wording (qr/caption.txt.j2): first line is the title."""
    templates = templates or _default_templates()
    text = templates.render(CAPTION_TEMPLATE, kind=payload.kind, ids=list(payload.ids),
                            f=signer.fields(payload), display_name=name, expires_at=payload.expires_at)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"caption template gave nothing for kind {payload.kind!r}")
    return Label(signer.url(payload), lines[0], tuple(lines[1:]))


def _default_templates() -> Templates:
    return Templates(ZoneInfo("Asia/Shanghai"))
