"""Fast text exposition: each target's lines are rendered once per result and cached."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator

from ghost_exporter.floats import format_float
from ghost_exporter.kinds import TARGET_FAMILIES, target_samples
from ghost_exporter.metrics import MetricDef
from ghost_exporter.samples import TargetState

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


@functools.cache
def _labels_tail(extra: tuple[tuple[str, str], ...]) -> str:
    """``,le="0.5"} ``: the part after a target's own labels, shared by every target."""
    return "".join(f',{k}="{escape_label_value(v)}"' for k, v in extra) + "} "


class TargetText:
    """Renders one target's samples; its own labels are escaped once."""

    __slots__ = ("labels",)

    def __init__(self, state: TargetState) -> None:
        self.labels = label_prefix(state)

    def render(self, state: TargetState) -> list[str]:
        """One text block per family (empty where the target has no samples of it)."""
        parts: list[list[str]] = [[] for _ in TARGET_FAMILIES]
        labels = self.labels
        for family, name, extra, value in target_samples(state):
            parts[_FAMILY_INDEX[family.name]].append(
                f"{name}{{{labels}{_labels_tail(extra)}{format_float(value)}\n"
            )
        return ["".join(p) for p in parts]


def render_families(blocks: Iterable[list[str]]) -> Iterator[str]:
    """The text of each target family in turn, from cached per-target blocks."""
    per_family: list[list[str]] = [[] for _ in TARGET_FAMILIES]
    for target_blocks in blocks:
        for i, block in enumerate(target_blocks):
            if block:
                per_family[i].append(block)
    for header, parts in zip(_HEADERS, per_family, strict=True):
        if parts:
            parts.insert(0, header)
            yield "".join(parts)
            parts.clear()


def render(blocks: Iterable[list[str]]) -> str:
    """Join cached per-target blocks into the text of every target family."""
    return "".join(render_families(blocks))
