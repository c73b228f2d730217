"""The one grammar of durations (``15s``, ``1m30s``, ``200ms``) and sizes (``1MiB``, ``512KB``).

Every program reads durations and sizes through these parsers: config files, command-line flags,
JSON bodies of control endpoints. docs/configuration.md ("Durations and sizes") describes the
grammar. Each parser raises :class:`ValueError` with a message that names what was expected.
"""

from __future__ import annotations

import math
import re

#: Duration units from the largest down, in seconds: the order in which parts may be combined.
DURATION_UNITS: dict[str, float] = {
    "y": 365 * 86400.0,
    "w": 7 * 86400.0,
    "d": 86400.0,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 0.001,
}
_NUMBER = r"(?:\d+(?:\.\d+)?|\.\d+)"
_DURATION = re.compile(
    "".join(f"(?:(?P<{unit}>{_NUMBER}){unit})?" for unit in DURATION_UNITS), re.ASCII
)
_BARE_NUMBER = re.compile(_NUMBER, re.ASCII)
#: Longest duration accepted anywhere (a year): guards against overflow in schedules.
MAX_DURATION = 365 * 86400.0

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?", re.IGNORECASE | re.ASCII)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
#: Largest size accepted anywhere (1TiB).
MAX_SIZE = 1024**4


def parse_duration(text: str) -> float:
    """Parse a Prometheus duration into seconds.

    Units are ``ms s m h d w y``; parts are combined from the largest unit down, each unit at most
    once (``1h30m``, ``1m30s500ms``), and a part may have a decimal fraction (``1.5s``, ``0.25s``).
    ``0`` alone is zero; any other number without a unit is refused. Surrounding blanks are
    ignored. At most a year.
    """
    value = text.strip()
    if value == "0":
        return 0.0
    match = _DURATION.fullmatch(value)
    if not value or match is None:
        if _BARE_NUMBER.fullmatch(value):
            raise ValueError(f"invalid duration {text!r}: a number needs a unit: write {value}s")
        raise ValueError(
            f"invalid duration {text!r}: use a number and a unit, e.g. 15s, 200ms, 1m30s"
        )
    total = sum(
        float(number) * DURATION_UNITS[unit]
        for unit, number in match.groupdict().items()
        if number is not None
    )
    if not math.isfinite(total) or total > MAX_DURATION:
        raise ValueError(f"duration {text!r} is longer than a year")
    return total


def duration_value(value: object) -> float:
    """A duration read from a file (YAML): a string in the grammar, or the number 0.

    Any other number is refused with the unit to add; booleans and other types are refused.
    """
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value == 0:
            return 0.0
        raise ValueError(f"duration {value} has no unit: write e.g. {value}s")
    raise ValueError("expected a duration such as 15s")


def format_duration(seconds: float) -> str:
    """Format seconds as Prometheus does, to the millisecond: ``1h30m``, ``1s500ms``, ``0s``.

    ``parse_duration(format_duration(x))`` is ``x`` rounded to the millisecond.
    """
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"cannot format {seconds!r} as a duration")
    millis = round(seconds * 1000)
    if millis == 0:
        return "0s"
    parts = []
    for unit, size in DURATION_UNITS.items():
        unit_millis = round(size * 1000)
        if millis >= unit_millis:
            parts.append(f"{millis // unit_millis}{unit}")
            millis %= unit_millis
    return "".join(parts)


def parse_duration_range(text: str) -> tuple[float, float]:
    """Parse ``200ms-900ms`` (uniform range) or a single duration (fixed) into ``(low, high)``."""
    low_text, sep, high_text = text.strip().partition("-")
    if not sep:
        fixed = parse_duration(low_text)
        return fixed, fixed
    try:
        low, high = parse_duration(low_text), parse_duration(high_text)
    except ValueError:
        raise ValueError(
            f"invalid duration range {text!r}: expected LOW-HIGH such as 200ms-900ms, "
            "or a single duration"
        ) from None
    if low > high:
        raise ValueError(f"invalid duration range {text!r}: the low end is above the high end")
    return low, high


def size_value(value: object) -> int:
    """A size read from a file (YAML): a string in the grammar, or a whole number of bytes (whose
    range the field checks: :data:`ghost_common.fields.Size`)."""
    if isinstance(value, str):
        return parse_size(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError("expected a size such as 1MiB")


def parse_size(text: str) -> int:
    """Parse a size into bytes: ``1024``, ``64KiB``, ``1MiB``, ``10MB``, ``1.5KiB``.

    Units are ``B``, SI ``KB MB GB TB`` (powers of 1000) and binary ``KiB MiB GiB TiB`` (powers of
    1024), in any case; a number alone is bytes; a fraction of a byte is dropped. At most 1TiB.
    """
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"invalid size {text!r}: use a number and a unit, e.g. 1MiB, 512KB")
    size = float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()]
    if not math.isfinite(size) or size > MAX_SIZE:
        raise ValueError(f"size {text!r} is larger than 1TiB")
    return int(size)
