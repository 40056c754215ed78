"""The printed sheet as a browser lays it out: each label cut from the page still scans, pages break on A4."""
from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import AsyncIterator

import pytest
from PIL import Image
from pyzbar import pyzbar

from bot.qr import QrSigner, make_label, render_label_sheet

from .samples import EVERY_KIND, NOW

pytestmark = [pytest.mark.browser, pytest.mark.slow]
playwright_api = pytest.importorskip("playwright.async_api")


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    names = ("chromium", "chromium-browser", "google-chrome")
    executable = next(filter(None, map(shutil.which, names)), None)
    async with playwright_api.async_playwright() as playwright:
        try:
            launched = await playwright.chromium.launch(executable_path=executable)
        except Exception as exc:  # no browser here: skip, except in CI where it must exist
            if os.environ.get("CI"):
                raise
            pytest.skip(f"chromium unavailable: {exc}")
        yield launched
        await launched.close()


async def test_labels_cut_from_the_rendered_sheet_decode(browser, signer: QrSigner) -> None:
    payloads = EVERY_KIND * 4  # 16 labels: one full page of 12 and a second page
    labels = [make_label(signer, payload, name=f"名称{index}") for index, payload in enumerate(payloads)]
    html = render_label_sheet(labels, "一号车间")
    page = await browser.new_page(device_scale_factor=2)
    await page.set_content(html)
    figures = await page.query_selector_all("figure.label")
    assert len(figures) == len(labels)
    for figure, label, payload in zip(figures, labels, payloads, strict=True):
        image = Image.open(io.BytesIO(await figure.screenshot()))
        decoded = [symbol.data.decode() for symbol in pyzbar.decode(image)]
        assert decoded == [label.url]
        assert signer.verify(decoded[0], now=NOW) == payload
        assert label.title in await figure.inner_text()

    pdf = await page.pdf(prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 2
    for box in re.findall(rb"/MediaBox\s*\[0 0 ([\d.]+) ([\d.]+)\]", pdf):  # A4 = 595 x 842 pt
        assert (round(float(box[0])), round(float(box[1]))) == (595, 842)
    await page.close()
