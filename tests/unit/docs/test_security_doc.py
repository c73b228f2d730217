"""docs/security.md names, for each of its promises, a test that exercises it: every section of
the page has a row in its table, and every test a row names exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.support import ROOT

DOC = ROOT / "docs" / "security.md"
TABLE_HEADING = "Which test checks each promise"
NODE_ID = re.compile(r"`([\w/.-]+\.py)::(test_\w+)`")


def _headings(text: str) -> list[str]:
    """The ``##`` and ``###`` headings, outside code blocks."""
    headings: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (found := re.match(r"#{2,3} (.+)$", line)):
            headings.append(found.group(1).strip())
    return headings


def _rows(text: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(section, promise, [(file, test)]) of each row of the promise table."""
    _, found, rest = text.partition(f"## {TABLE_HEADING}\n")
    assert found, f"{DOC}: no section '## {TABLE_HEADING}'"
    lines = [line for line in rest.splitlines() if line.startswith("|")]
    assert lines[:2] == ["| section | promise | tests |", "| --- | --- | --- |"], lines[:2]
    rows = []
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        assert len(cells) == 3, line
        section, promise, tests = cells
        rows.append((section, promise, NODE_ID.findall(tests)))
    return rows


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def problems(text: str, root: Path) -> list[str]:
    """Sections without a row, rows naming no test, and named tests that do not exist."""
    sections = [h for h in _headings(text) if h != TABLE_HEADING]
    rows = _rows(text)
    found = [f"section without a row: {s}" for s in sections if s not in {r[0] for r in rows}]
    for section, promise, tests in rows:
        if section not in sections:
            found.append(f"row for a section the page does not have: {section}")
        if not tests:
            found.append(f"{section}: {promise}: no test named")
        for file, name in tests:
            path = root / file
            if not path.is_file():
                found.append(f"{section}: {promise}: {file} does not exist")
            elif name not in _test_functions(path):
                found.append(f"{section}: {promise}: {file}::{name} does not exist")
    return found


def test_every_promise_of_the_security_page_names_existing_tests() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert len(_headings(text)) > 5
    assert len(_rows(text)) > 5
    assert problems(text, ROOT) == []


def test_missing_rows_and_missing_tests_are_reported(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_sample.py").write_text(
        "def test_here() -> None:\n    assert True\n\n\ndef helper() -> None: ...\n"
        "\n\nclass TestNested:\n    def test_gone(self) -> None: ...\n"
    )
    table = "| section | promise | tests |\n| --- | --- | --- |\n"
    rows = (
        "| Covered | holds | `tests/test_sample.py::test_here` |\n"
        "| Covered | also holds | `tests/test_sample.py::test_here`, "
        "`tests/test_sample.py::test_gone` |\n"
        "| Covered | untested | none |\n"
        "| Elsewhere | holds | `tests/test_nowhere.py::test_here` |\n"
    )
    text = f"## Covered\n\n### Forgotten\n\n## {TABLE_HEADING}\n\n{table}{rows}"
    assert problems(text, tmp_path) == [
        "section without a row: Forgotten",
        "Covered: also holds: tests/test_sample.py::test_gone does not exist",
        "Covered: untested: no test named",
        "row for a section the page does not have: Elsewhere",
        "Elsewhere: holds: tests/test_nowhere.py does not exist",
    ]
