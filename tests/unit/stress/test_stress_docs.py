"""docs/stress.md and docs/demo.md document every flag the two commands accept."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import pytest

from ghost_demo.cli import build_parser as demo_parser
from ghost_stress.cli import build_parser as stress_parser
from ghost_stress.summary import load_schema

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


def _schema_keys(schema: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, sub in schema.get("properties", {}).items():
        keys.add(prefix + name)
        keys |= _schema_keys(sub, f"{prefix}{name}.")
        keys |= _schema_keys(sub.get("items", {}), f"{prefix}{name}[].")
        for option in sub.get("oneOf", []):
            keys |= _schema_keys(option, f"{prefix}{name}.")
    return keys


def test_every_summary_key_is_documented() -> None:
    """docs/stress.md's JSON summary table has a row per key of summary.schema.json."""
    keys = _schema_keys(load_schema())
    assert {"schema_version", "duration_seconds.p99", "errors[].cause"} <= keys
    text = (DOCS / "stress.md").read_text()
    section = text.partition("### JSON summary")[2].partition("\n#")[0]
    documented = set(re.findall(r"^\| `([a-z_.\[\]0-9]+)`", section, re.MULTILINE))
    assert keys == documented
