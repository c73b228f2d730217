"""Fault modes of the demo services and the ``{"mode": ..., "delay": ...}`` request body.

``frozen``, ``lagging`` and ``dropping`` are the failures of ghost's own monitors: status-api goes
on answering and says it is healthy, while what it reports is stale, late or missing. On the other
services they change nothing.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any

from ghost_common.units import parse_duration


class FaultMode(enum.StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"  # /health says degraded (HTTP 200)
    UNHEALTHY = "unhealthy"  # /health says unhealthy (HTTP 503)
    DOWN = "down"  # the listener is closed: connections are refused
    SLOW = "slow"  # every answer is delayed by the fault's delay
    STALE = "stale"  # telemetry timestamps are old
    ERROR = "error"  # HTTP 500 on every route but /-/fault
    FROZEN = "frozen"  # status-api's service states stay those of the moment the fault began
    LAGGING = "lagging"  # status-api publishes events only after the fault's delay
    DROPPING = "dropping"  # status-api accepts events and never publishes them


MODES = ", ".join(mode.value for mode in FaultMode)
#: The modes that take a ``delay``.
DELAYED = (FaultMode.SLOW, FaultMode.LAGGING)


@dataclass(frozen=True, slots=True)
class FaultDefaults:
    """The delay of each delayed mode when a request gives none (``--slow-delay``, ``--lag``)."""

    slow: float = 10.0
    lagging: float = 8.0

    def delay(self, mode: FaultMode) -> float | None:
        if mode is FaultMode.SLOW:
            return self.slow
        if mode is FaultMode.LAGGING:
            return self.lagging
        return None


class FaultError(ValueError):
    """A fault request that cannot be applied (HTTP 400)."""


@dataclass(frozen=True, slots=True)
class Fault:
    mode: FaultMode = FaultMode.HEALTHY
    delay: float | None = None  # seconds, for SLOW and LAGGING

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode.value, "delay_seconds": self.delay}


HEALTHY = Fault()


def parse_fault(body: object, defaults: FaultDefaults) -> Fault:
    """Validate a fault request body; a delayed mode's ``delay`` comes from ``defaults``."""
    if not isinstance(body, dict):
        raise FaultError('the body must be a JSON object like {"mode": "degraded"}')
    unknown = sorted(set(body) - {"mode", "delay"})
    if unknown:
        raise FaultError(f"unknown keys {unknown}: only mode and delay are accepted")
    mode_text = body.get("mode")
    try:
        mode = FaultMode(mode_text if isinstance(mode_text, str) else "")
    except ValueError:
        raise FaultError(f"invalid mode {mode_text!r}: expected one of {MODES}") from None
    delay_value = body.get("delay")
    if delay_value is None:
        return Fault(mode, defaults.delay(mode))
    if mode not in DELAYED:
        raise FaultError("delay applies to the slow and lagging modes only")
    return Fault(mode, _delay(delay_value))


def _delay(value: object) -> float:
    if isinstance(value, bool):
        raise FaultError("delay must be a duration such as 10s or 500ms")
    if isinstance(value, int | float):
        if not 0 <= value < math.inf:
            raise FaultError("delay must be a finite number of seconds, not negative")
        return float(value)
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise FaultError(str(exc)) from None
    raise FaultError("delay must be a duration such as 10s or 500ms")
