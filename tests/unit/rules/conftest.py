"""Shared by the rule tests: the project's paths, the rules package and the parsed files."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

import ghost_rules

ROOT = Path(__file__).resolve().parents[3]
ALERTS_DIR = ROOT / "alerts"
TESTS_DIR = ALERTS_DIR / "tests"
RUNBOOKS = ALERTS_DIR / "runbooks.md"
RECORDING_FILE = ROOT / "prometheus" / "rules" / "ghost-recording.yml"
ALERTS_FILE = ALERTS_DIR / "ghost-alerts.yml"
SLOTH_FILE = ROOT / "prometheus" / "rules" / "ghost-sloth.yml"
ALERTMANAGER_FILE = ALERTS_DIR / "alertmanager.yml"
DOCS_FILE = ROOT / "docs" / "alerts.md"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rules_of(path: Path) -> Iterator[dict[str, Any]]:
    for group in load_yaml(path)["groups"]:
        yield from group["rules"]


def promtool_test_files() -> list[Path]:
    return sorted(TESTS_DIR.glob("*.test.yml"))


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown document."""
    anchors = set()
    for match in re.finditer(r"^#{1,6}\s+(.+?)\s*#*\s*$", markdown, flags=re.MULTILINE):
        text = match.group(1).strip().lower()
        text = re.sub(r"[^\w\- ]", "", text)
        anchors.add(text.replace(" ", "-"))
    return anchors


@pytest.fixture(scope="session")
def generator() -> ModuleType:
    """The rules package alerts/ghost_rules (alerts/ is on pytest's pythonpath)."""
    return ghost_rules


@pytest.fixture(scope="session")
def alerts() -> list[dict[str, Any]]:
    return list(rules_of(ALERTS_FILE))


@pytest.fixture(scope="session")
def records() -> list[dict[str, Any]]:
    return list(rules_of(RECORDING_FILE))
