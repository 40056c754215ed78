"""Typed quantities read as meant: full-width digits and punctuation, units after numbers; nothing else."""
from __future__ import annotations

import re

import pytest

from bot.text_input import NUMBERISH, quantities, to_ascii


@pytest.mark.parametrize(("typed", "read"), [
    ("48件", "48"), ("４８", "48"), ("48 个", "48"), ("48，2", "48,2"), ("４８件，２件", "48,2"),
    ("48pcs 2PCS", "48 2"), ("48、2", "48,2"), ("　48　", "48"), ("48 2 1", "48 2 1"), ("48只", "48"),
])
def test_quantities_typed_with_a_chinese_keyboard_or_a_unit_read_as_ascii(typed: str, read: str) -> None:
    assert re.fullmatch(NUMBERISH, typed.strip())  # the dispatcher strips what was typed
    assert quantities(typed) == read


@pytest.mark.parametrize("typed", ["٤٨", "²", "四十八", "abc", "件48"])
def test_other_scripts_and_words_are_not_taken_for_quantities(typed: str) -> None:
    assert not re.fullmatch(NUMBERISH, typed)


def test_a_unit_inside_a_word_is_kept() -> None:
    assert quantities("48pcsx") == "48pcsx"  # not a unit: the strict parse after it refuses the text
    assert to_ascii("Ｌ１－Ｍ１") == "L1-M1"
