"""Signed QR payloads and printable labels (pure: no database, no HTTP)."""
from bot.qr.labels import Label, make_label, render_label_sheet, render_png, render_svg, write_labels
from bot.qr.payload import DEFAULT_KINDS, QrError, QrKind, QrPayload
from bot.qr.signer import QrSigner

__all__ = [
    "DEFAULT_KINDS", "Label", "QrError", "QrKind", "QrPayload", "QrSigner", "make_label",
    "render_label_sheet", "render_png", "render_svg", "write_labels",
]
