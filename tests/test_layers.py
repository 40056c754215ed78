"""The folders import downwards only: opsbot/ → handlers/, jobs/ → bot/ → integrations/, with no circles.

Read from the source with ast (imports inside functions and under TYPE_CHECKING count too), so a late import
cannot hide a circle.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What each top-level package may import from the project's own packages.
ALLOWED = {
    "integrations": {"integrations"},
    "bot": {"bot", "integrations"},
    "handlers": {"handlers", "bot", "integrations"},
    "jobs": {"jobs", "bot", "integrations"},
    "opsbot": {"opsbot", "bot", "handlers", "jobs", "integrations"},
}
PROJECT = set(ALLOWED)


def imported_packages(path: Path) -> set[tuple[int, str]]:
    """(line, top-level package) of every absolute import in a file that names one of the project's packages."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            top = name.split(".", 1)[0]
            if top in PROJECT:
                found.add((node.lineno, top))
    return found


def violations(package: str) -> list[str]:
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, top in sorted(imported_packages(path)):
            if top not in ALLOWED[package]:
                out.append(f"{path.relative_to(ROOT)}:{line} imports {top}/")
    return out


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_folders_import_only_downwards(package: str) -> None:
    assert violations(package) == []


def test_the_check_sees_a_circle(tmp_path: Path) -> None:
    """The checker itself: an upward import, even inside a function, is found."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from handlers import ROUTERS\n    import jobs.kpi_daily\n", encoding="utf-8")
    assert imported_packages(sample) == {(2, "handlers"), (3, "jobs")}
