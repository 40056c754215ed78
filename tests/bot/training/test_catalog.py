"""The catalog a plant edits: the shipped one is valid with the generated clips, and a missing or broken file,
a path outside the media folder or a bad quiz is one readable line."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.training.catalog import parse_catalog
from bot.training.mp4 import Mp4Error, mp4_duration
from bot.training.settings import PROJECT_DIR
from tests.bot.training.support import media_copy

CATALOG = PROJECT_DIR / "content" / "training" / "catalog.toml"


def test_shipped_catalog_is_valid_with_the_generated_clips(tmp_path: Path) -> None:
    catalog = parse_catalog(CATALOG, media_copy(tmp_path))
    assert catalog.problems == []
    assert len(catalog.items) >= 8
    roles = {role for item in catalog.items.values() for role in item.roles}
    assert {"operator", "team_lead", "qc", "dispatcher"} <= roles
    safety = catalog.items["SAFE-01"]
    assert safety.duration_s == pytest.approx(6.0, abs=0.1) and safety.quiz and len(safety.quiz.questions) == 3
    assert 10_000 < safety.video_bytes < 1_000_000


def test_mp4_duration_reads_the_movie_header(tmp_path: Path) -> None:
    media = media_copy(tmp_path)
    assert mp4_duration(media / "quality.mp4") == pytest.approx(8.0, abs=0.1)
    with pytest.raises(Mp4Error, match="not an MP4"):
        mp4_duration(media / "quality.jpg")


def test_missing_and_broken_files_are_one_line_each(tmp_path: Path) -> None:
    media = media_copy(tmp_path)
    (media / "dispatch.mp4").unlink()
    data = (media / "quality.mp4").read_bytes()
    (media / "quality.mp4").write_bytes(data[: len(data) // 2])  # an interrupted upload
    catalog = parse_catalog(CATALOG, media)
    missing = [p for p in catalog.problems if "dispatch.mp4" in p]
    broken = [p for p in catalog.problems if "quality.mp4" in p]
    assert missing and all("is missing" in p and "\n" not in p for p in missing)
    assert broken and all("is broken" in p and "truncated" in p for p in broken)
    assert not catalog.items["SCAN-01"].playable and catalog.items["SAFE-01"].playable


def test_a_path_outside_the_media_folder_is_refused(tmp_path: Path) -> None:
    media = media_copy(tmp_path / "media")
    shutil.copy(media / "safety.mp4", tmp_path / "outside.mp4")
    toml = tmp_path / "catalog.toml"
    toml.write_text('[[item]]\ncode = "X-1"\ntitle = "x"\nroles = ["operator"]\nvideo = "../outside.mp4"\n'
                    '[[item]]\ncode = "X-2"\ntitle = "y"\nroles = ["chef"]\nurl = "https://example.com/v"\n'
                    'duration = 30\n[item.quiz]\npass = 1\n[[item.quiz.question]]\ntext = "q"\n'
                    'options = ["a", "b"]\nanswer = 3\n', encoding="utf-8")
    catalog = parse_catalog(toml, media)
    text = "\n".join(catalog.problems)
    assert "outside the media folder" in text
    assert "item 2 (X-2): roles" in text and "quiz question 1" in text
    assert not catalog.items["X-1"].playable


def test_check_command_prints_one_line_per_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from opsbot.cli import main

    media = media_copy(tmp_path / "media")
    config = tmp_path / "opsbot.toml"
    config.write_text(f'[training]\nmedia_dir = "{media}"\n', encoding="utf-8")
    assert main(["training", "check", "--config", str(config)]) == 0
    (media / "safety.mp4").write_bytes(b"\x00\x00\x00\x08free")
    assert main(["training", "check", "--config", str(config)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err and all(line.startswith("error: item ") and "safety.mp4 is broken" in line for line in err)
