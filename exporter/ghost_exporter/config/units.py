"""Parsing of durations (``15s``, ``1m30s``, ``200ms``) and sizes (``1MiB``, ``512KB``)."""

from __future__ import annotations

import math
import re

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|s|m|h|d|w|y)")
_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 7 * 86400.0,
    "y": 365 * 86400.0,
}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?", re.IGNORECASE)
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
#: Longest duration accepted anywhere (a year): guards against overflow in schedules.
MAX_DURATION = 365 * 86400.0


def parse_duration(text: str) -> float:
    """Parse a Prometheus-style duration into seconds.

    Units are ``ns us ms s m h d w y``; parts may be combined from the largest unit down, as in
    ``1h30m`` or ``1.5s``. A bare number has no unit and is refused.
    """
    value = text.strip()
    if not value:
        raise ValueError("empty duration")
    if value == "0":
        return 0.0
    total = 0.0
    pos = 0
    for match in _DURATION_PART.finditer(value):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(value) or pos == 0:
        raise ValueError(
            f"invalid duration {text!r}: use a number and a unit, e.g. 15s, 200ms, 1m30s"
        )
    if not math.isfinite(total) or total > MAX_DURATION:
        raise ValueError(f"duration {text!r} is longer than a year")
    return total


def format_duration(seconds: float) -> str:
    """Format seconds as the shortest exact duration string (``1m30s``, ``250ms``)."""
    if seconds == 0:
        return "0s"
    millis = round(seconds * 1000)
    if millis % 1000:
        return f"{millis}ms"
    secs = millis // 1000
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if secs >= size:
            parts.append(f"{secs // size}{unit}")
            secs %= size
    return "".join(parts)


def parse_size(text: str) -> int:
    """Parse a size in bytes: ``1024``, ``64KiB``, ``1MiB``, ``10MB`` (SI and binary units)."""
    value = text.strip()
    match = _SIZE.fullmatch(value)
    if not match:
        raise ValueError(f"invalid size {text!r}: use a number and a unit, e.g. 1MiB, 512KB")
    number = float(match.group(1))
    unit = (match.group(2) or "b").lower()
    size = number * _SIZE_UNITS[unit]
    if not math.isfinite(size) or size > 1024**4:
        raise ValueError(f"size {text!r} is larger than 1TiB")
    return int(size)
