"""Label images and the A4 sheet: every QR decodes back to its exact URL with a real decoder."""
from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from pyzbar import pyzbar

from bot.qr import QrPayload, QrSigner
from bot.qr.labels import (
    Label,
    make_label,
    render_label_sheet,
    render_png,
    render_svg,
    safe_file_stem,
    write_labels,
)

from .samples import EVERY_KIND, NOW


def decode_png(png: bytes) -> list[str]:
    return [symbol.data.decode("utf-8") for symbol in pyzbar.decode(Image.open(io.BytesIO(png)))]


@pytest.mark.parametrize("payload", EVERY_KIND, ids=lambda p: p.kind)
def test_png_decodes_to_the_exact_url_and_verifies(signer: QrSigner, payload: QrPayload) -> None:
    url = signer.url(payload)
    decoded = decode_png(render_png(url, scale=4))
    assert decoded == [url]
    assert signer.verify(decoded[0], now=NOW) == payload


def test_png_has_the_quiet_zone(signer: QrSigner) -> None:
    image = Image.open(io.BytesIO(render_png(signer.url(EVERY_KIND[0]), scale=5))).convert("L")
    modules = image.width // 5
    assert image.width == image.height and (modules - 8 - 17) % 4 == 0  # version size + 2 x 4 quiet modules
    border = [image.getpixel((x, y)) for x in range(image.width) for y in range(20)]
    assert min(border) == 255 and image.getpixel((20, 20)) == 0  # 4 white modules, then the finder pattern


def test_svg_is_standalone_and_scalable(signer: QrSigner) -> None:
    svg = render_svg(signer.url(EVERY_KIND[1]), module_mm=0.5)
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and not svg.startswith("<?xml")
    size = re.search(r'width="([\d.]+)mm" height="([\d.]+)mm" viewBox="0 0 ([\d.]+) ([\d.]+)"', svg)
    assert size and size.group(1) == size.group(2) == size.group(3) == size.group(4)


def test_sheet_has_every_caption_and_one_svg_per_label(signer: QrSigner) -> None:
    labels = [Label(signer.url(p), f"标签 {i}", [f"第一行 {i}", f"第二行 {i}"])
              for i, p in enumerate(EVERY_KIND * 4)]
    html = render_label_sheet(labels, "一号车间 二维码")
    assert html.count("<svg") == len(labels) == 16
    for label in labels:
        assert f">{label.title}<" in html
        assert all(f">{line}<" in html for line in label.lines)
    assert html.count('<section class="page">') == 2  # 12 + 4
    assert "@page" in html and "A4" in html and "一号车间 二维码" in html


def test_sheet_escapes_captions(signer: QrSigner) -> None:
    html = render_label_sheet([Label(signer.url(EVERY_KIND[0]), "<b>x</b>", ["a & b"])], "t")
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "a &amp; b" in html and "<b>x</b>" not in html


def test_empty_sheet_is_refused() -> None:
    with pytest.raises(ValueError):
        render_label_sheet([], "空")


def test_make_label_captions(signer: QrSigner) -> None:
    op = make_label(signer, EVERY_KIND[0], name="装配")
    assert op.title == "工单 WO-2026-001 · 工序 10 装配" and op.url == signer.url(EVERY_KIND[0])
    machine = make_label(signer, EVERY_KIND[1], name="数控车床")
    assert machine.title == "设备 L1-M1 数控车床"
    expiring = make_label(signer, QrPayload("patrol", ("CP-07",), datetime(2026, 3, 1, 16, 0, tzinfo=UTC)))
    assert "有效期至 2026-03-02 00:00" in expiring.lines  # shown in plant time (Asia/Shanghai)


def test_write_labels_files_decode(signer: QrSigner, tmp_path: Path) -> None:
    hostile = Label(signer.url(EVERY_KIND[0]), "../../etc/passwd", [])
    labels = [make_label(signer, p) for p in EVERY_KIND] + [hostile]
    written = write_labels(labels, tmp_path / "out", title="测试")
    assert written[0] == tmp_path / "out" / "labels.html"
    assert len(written) == 1 + 2 * len(labels)
    assert all(path.parent == tmp_path / "out" and path.is_file() for path in written)
    assert [p.name for p in written[1:3]] == ["001-WO-2026-001-10.png", "001-WO-2026-001-10.svg"]
    assert written[-1].name == "005-etc-passwd.svg"
    for label, png in zip(labels, written[1::2], strict=True):
        assert decode_png(png.read_bytes()) == [label.url]
    assert written[0].read_text(encoding="utf-8").count("<svg") == len(labels)


@pytest.mark.parametrize(("title", "stem"), [
    ("设备 L1-M1 数控车床", "007-L1-M1"), ("巡检点", "007"), ("a/b\\c:d*e?f", "007-a-b-c-d-e-f"),
    ("ＷＯ－１", "007-WO-1"), ("x" * 100, "007-" + "x" * 48),
])
def test_safe_file_stem(title: str, stem: str) -> None:
    assert safe_file_stem(7, title) == stem
