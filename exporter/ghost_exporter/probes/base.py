"""What every prober shares: the Prober protocol, JSON field lookup and the health mapping."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ghost_exporter.results import FailureReason, Health, ProbeResult

if TYPE_CHECKING:
    from ghost_exporter.config.model import Target
    from ghost_exporter.probes.clients import ProbeContext


class Prober(Protocol):
    """One probe kind's prober. It fills ``result`` as it goes (so a timeout keeps what was
    measured); what it raises fails the probe with the reason the exception stands for, decided
    once by the probe-timeout wrapper (``probes.timeout``), which also owns the timeout."""

    async def __call__(self, target: Target, ctx: ProbeContext, result: ProbeResult) -> None: ...


def dotted_get(data: Any, path: str) -> tuple[bool, Any]:
    """Look up ``a.b.0.c`` in nested JSON data; returns (found, value)."""
    current = data
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return False, None
    return True, current


_DEFAULT_HEALTH = {
    "healthy": Health.HEALTHY,
    "ok": Health.HEALTHY,
    "up": Health.HEALTHY,
    "green": Health.HEALTHY,
    "pass": Health.HEALTHY,
    "passing": Health.HEALTHY,
    "true": Health.HEALTHY,
    "degraded": Health.DEGRADED,
    "warn": Health.DEGRADED,
    "warning": Health.DEGRADED,
    "yellow": Health.DEGRADED,
    "unhealthy": Health.UNHEALTHY,
    "down": Health.UNHEALTHY,
    "fail": Health.UNHEALTHY,
    "failing": Health.UNHEALTHY,
    "error": Health.UNHEALTHY,
    "critical": Health.UNHEALTHY,
    "red": Health.UNHEALTHY,
    "false": Health.UNHEALTHY,
}


def map_health(value: Any, overrides: Mapping[str, str]) -> Health:
    """Map a health field's value to a state: the override map first, then the defaults."""
    if isinstance(value, bool):
        key = "true" if value else "false"
    elif isinstance(value, str):
        key = value.strip()
    else:
        return Health.UNKNOWN
    if key in overrides:
        return Health(overrides[key])
    return _DEFAULT_HEALTH.get(key.lower(), Health.UNKNOWN)


def judge_health(result: ProbeResult, state: Health) -> None:
    """Record a health state; unhealthy or unknown fails the probe with reason ``health``."""
    result.health = state
    if state in (Health.UNHEALTHY, Health.UNKNOWN):
        result.fail(FailureReason.HEALTH, f"health is {state.value}")
