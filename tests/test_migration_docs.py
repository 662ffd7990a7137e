"""docs/migration-autodiff.md and docs/migration-models.md name a test for every row: each must
exist."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each test collects the whole suite in a subprocess

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "migration-autodiff.md"
MODELS_DOC = ROOT / "docs" / "migration-models.md"


def named_tests(doc: Path = DOC) -> list[str]:
    """Every `tests/...::name[id]` in the page; a bare `[id]` repeats the test before it."""
    ids = []
    for row in doc.read_text(encoding="utf-8").splitlines():
        last = None
        for match in re.finditer(r"`(tests/[\w/]+\.py::\w+(?:\[[\w-]+\])?|\[[\w-]+\])`", row):
            text = match.group(1)
            if text.startswith("["):
                assert last is not None, f"{text} follows no test in: {row}"
                text = last.split("[")[0] + text
            ids.append(text)
            last = text
    return ids


def test_every_row_of_the_table_names_a_test() -> None:
    rows = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    table = rows[2:]  # after the header and its rule
    assert len(table) >= 15
    for row in table:
        assert "`tests/" in row, row


def test_every_named_test_is_collected() -> None:
    ids = sorted(set(named_tests()))
    assert ids
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", *ids],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert collected.returncode == 0, collected.stdout + collected.stderr


def test_every_test_the_optimizer_reference_names_is_defined() -> None:
    """docs/migration-optimizers.md names tests by function (`…[adam-*]` ids aside): each must
    be defined in tests/, as the README promises for every migration reference."""
    page = (ROOT / "docs" / "migration-optimizers.md").read_text(encoding="utf-8")
    named = set(re.findall(r"\b(test_\w+?)(?:\[|`|\b)", page)) - {"test_optimizers_"}
    sources = "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "tests").glob("*.py"))
    defined = set(re.findall(r"^def (test_\w+)", sources, flags=re.MULTILINE))
    modules = {path.stem for path in (ROOT / "tests").glob("test_*.py")}
    assert named and named <= defined | modules, sorted(named - defined - modules)


def table_rows(text: str) -> list[str]:
    """The body rows of every Markdown table in `text`: each table's header (the line above its
    `|---|` rule) and the rule itself left out."""
    lines = text.splitlines()
    return [
        line
        for line, following in zip(lines, [*lines[1:], ""], strict=True)
        if line.startswith("| ") and not following.startswith("|---")
    ]


def assert_every_row_names_a_collected_test(doc: Path, table_text: str, rows: int) -> None:
    """Each row of the tables in `table_text` names a test, and pytest collects every one."""
    table = table_rows(table_text)
    assert len(table) >= rows
    for row in table:
        assert "`tests/" in row, row
    ids = sorted(set(named_tests(doc)))
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", *ids],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert collected.returncode == 0, collected.stdout + collected.stderr
    assert len(collected.stdout.splitlines()) > len(ids)  # every id collected, none dropped


def test_every_row_of_the_models_reference_names_a_collected_test() -> None:
    assert_every_row_names_a_collected_test(
        MODELS_DOC, MODELS_DOC.read_text(encoding="utf-8"), rows=12
    )


def test_every_row_of_the_distributed_reference_names_a_collected_test() -> None:
    doc = ROOT / "docs" / "migration-distributed.md"
    # The construct table, not the benchmark's numbers above it.
    text = doc.read_text(encoding="utf-8").split("## Construct by construct", 1)[1]
    assert_every_row_names_a_collected_test(doc, text, rows=9)
