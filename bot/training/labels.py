"""Posters for the stations: one signed `training` QR per catalog item, captioned with its title."""
from __future__ import annotations

from bot.qr import Label, QrPayload, QrSigner, make_label
from bot.templates import Templates
from bot.training.catalog import Catalog


def training_labels(signer: QrSigner, templates: Templates, catalog: Catalog, plant: str,
                    line_code: str | None = None) -> tuple[list[Label], str]:
    items = [i for i in catalog.items.values() if line_code is None or i.for_line(line_code)]
    labels = [make_label(signer, QrPayload("training", (item.code,)), name=item.title, templates=templates)
              for item in items]
    return labels, templates.render("training/labels_title.txt.j2", plant=plant, line=line_code or "")
