"""Durations in Prometheus's grammar: ``1h30m``, ``500ms``, ``14d``, ``1.5s``.

Units ``ms s m h d w y``, combined from the largest unit down, each at most once; a part may
have decimals. A bare number is refused, except ``0``.
"""

from __future__ import annotations

import math
import re

_UNITS = {
    "y": 365 * 86400.0,
    "w": 7 * 86400.0,
    "d": 86400.0,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 0.001,
}
_DURATION = re.compile(
    "".join(rf"(?:(?P<{unit}>\d+(?:\.\d+)?){unit})?" for unit in _UNITS).join("^$")
)


def parse_duration(text: str) -> float:
    """Seconds in ``text``; ValueError when it is not a Prometheus duration."""
    if text == "0":
        return 0.0
    match = _DURATION.match(text)
    if not text or match is None:
        raise ValueError(f"not a Prometheus duration: {text!r} (e.g. 15s, 500ms, 1h30m)")
    seconds = sum(float(value) * _UNITS[unit] for unit, value in match.groupdict().items() if value)
    if not math.isfinite(seconds):
        raise ValueError(f"not a finite duration: {text!r}")
    return seconds
