"""Fast text exposition: each target's lines are rendered once per result and cached."""

from __future__ import annotations

from collections.abc import Iterable

from ghost_exporter.floats import format_float
from ghost_exporter.metrics import MetricDef
from ghost_exporter.samples import TARGET_FAMILIES, TargetState, target_samples

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_FAMILY_INDEX = {family.name: i for i, family in enumerate(TARGET_FAMILIES)}


def escape_label_value(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


def family_header(family: MetricDef) -> str:
    return f"# HELP {family.name} {_escape_help(family.help)}\n# TYPE {family.name} {family.type}\n"


_HEADERS = tuple(family_header(f) for f in TARGET_FAMILIES)


def label_prefix(state: TargetState) -> str:
    """The target's own labels, rendered once: ``service="x",tier="core"``."""
    target = state.target
    pairs = [(target.identity_label, target.name), *target.labels]
    return ",".join(f'{k}="{escape_label_value(v)}"' for k, v in pairs)


class TargetText:
    """Renders one target's samples; the text before each value is built once and kept."""

    __slots__ = ("_lines", "labels")

    def __init__(self, state: TargetState) -> None:
        self.labels = label_prefix(state)
        self._lines: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[int, str]] = {}

    def render(self, state: TargetState) -> list[str]:
        """One text block per family (empty where the target has no samples of it)."""
        parts: list[list[str]] = [[] for _ in TARGET_FAMILIES]
        lines = self._lines
        for family, name, extra, value in target_samples(state):
            key = (name, extra)
            cached = lines.get(key)
            if cached is None:
                labels = self.labels + "".join(f',{k}="{escape_label_value(v)}"' for k, v in extra)
                cached = lines[key] = (_FAMILY_INDEX[family.name], f"{name}{{{labels}}} ")
            parts[cached[0]] += (cached[1], format_float(value), "\n")
        return ["".join(p) for p in parts]


def render(blocks: Iterable[list[str]]) -> str:
    """Join cached per-target blocks into the text of every target family."""
    per_family: list[list[str]] = [[] for _ in TARGET_FAMILIES]
    for target_blocks in blocks:
        for i, block in enumerate(target_blocks):
            if block:
                per_family[i].append(block)
    out: list[str] = []
    for header, parts in zip(_HEADERS, per_family, strict=True):
        if parts:
            out.append(header)
            out.extend(parts)
    return "".join(out)
