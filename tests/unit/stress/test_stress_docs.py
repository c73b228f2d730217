"""docs/stress.md and docs/demo.md document every flag the two commands accept."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from ghost_demo.cli import build_parser as demo_parser
from ghost_stress.cli import build_parser as stress_parser

DOCS = Path(__file__).resolve().parents[3] / "docs"


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    flags: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                flags |= _flags(sub)
        flags |= {option for option in action.option_strings if option.startswith("--")}
    return flags - {"--help"}


def _documented(name: str) -> set[str]:
    text = (DOCS / name).read_text()
    return set(re.findall(r"^\| `(--[a-z-]+)[ `]", text, re.MULTILINE))


@pytest.mark.parametrize(
    ("parser", "doc"), [(stress_parser(), "stress.md"), (demo_parser(), "demo.md")]
)
def test_every_flag_is_documented(parser: argparse.ArgumentParser, doc: str) -> None:
    flags = _flags(parser)
    assert len(flags) > 5
    assert flags == _documented(doc)
