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


#: zlib level of gzip scrapes: on the exposition text of 10,000 targets, level 1 costs a fifth
#: of the CPU of zlib's default 6 for 19% more bytes (docs/performance.md).
GZIP_LEVEL = 1


def _quality(params: list[str]) -> float | None:
    """The ``q`` of one Accept-Encoding entry (1 when absent); None when it is malformed."""
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return None
            return q if 0.0 <= q <= 1.0 else None
    return 1.0


#: The preference of identity when the header does not mention it: the lowest q there is.
_FALLBACK = 0.001


def choose_encoding(accept_encoding: str | None) -> str | None:
    """``"gzip"`` or ``"identity"`` for an Accept-Encoding header (RFC 9110, 12.5.3), or None
    when the client refuses both.

    gzip (or x-gzip) is acceptable when listed, or covered by ``*``, with q > 0; identity unless
    ``identity;q=0``, or ``*;q=0`` without an entry of its own. Of two acceptable codings the
    higher q wins, gzip on a tie; identity named by neither its own entry nor ``*`` is only the
    fallback. No header, or an empty one, means identity. Malformed entries are ignored.
    """
    if not accept_encoding or not accept_encoding.strip():
        return "identity"
    qualities: dict[str, float] = {}
    for entry in accept_encoding.split(","):
        coding, *params = entry.split(";")
        coding = coding.strip().lower()
        q = _quality(params)
        if not coding or q is None:
            continue
        if coding == "x-gzip":
            coding = "gzip"
        qualities[coding] = max(q, qualities.get(coding, 0.0))
    star = qualities.get("*")
    gzip = qualities.get("gzip", star if star is not None else 0.0)
    identity = qualities.get("identity", star if star is not None else _FALLBACK)
    if gzip > 0 and gzip >= identity:
        return "gzip"
    if identity > 0:
        return "identity"
    return None
