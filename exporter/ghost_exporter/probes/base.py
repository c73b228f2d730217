"""What every prober shares: failure reasons, health states, the result, the Prober protocol."""

from __future__ import annotations

import enum
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ghost_exporter.config import Target
    from ghost_exporter.probes.context import ProbeContext


class FailureReason(enum.StrEnum):
    TIMEOUT = "timeout"
    CONNECT = "connect"
    TLS = "tls"
    STATUS = "status"
    BODY = "body"
    HEALTH = "health"
    PROTOCOL = "protocol"
    ASSERTION = "assertion"


class Health(enum.StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class DaemonStatus:
    """A parsed answer of a daemon's ``/api/status`` (the patch status protocol)."""

    instance_id: str
    started_at: float
    completed: int
    failed: int
    timeout: int
    in_flight: int
    buckets: tuple[tuple[float, int], ...]
    duration_sum: float
    duration_count: int


@dataclass(slots=True)
class CanaryRound:
    """One pipeline round: the canary sent and, per observer, seconds from sending to seeing
    it (None: not seen, or not watched when the observer could not connect)."""

    canary: str
    emitted: bool = False
    emit_reason: FailureReason | None = None
    seen: dict[str, float | None] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class ProbeResult:
    """What one probe found. Probers fill it in as they go, so a timeout keeps the phases done."""

    started: float = field(default_factory=time.time)
    success: bool = False
    reason: FailureReason | None = None
    message: str = ""
    duration: float = 0.0
    #: Attempts made within this probe (1 + the retries it used).
    attempts: int = 1
    phases: dict[str, float] = field(default_factory=dict)
    status_code: int | None = None
    health: Health = Health.UNKNOWN
    message_lag: float | None = None
    cert_expiry: float | None = None
    daemon: DaemonStatus | None = None
    #: A reporter's claims: service name -> state, as it listed them.
    claims: dict[str, Health] | None = None
    canary: CanaryRound | None = None
    #: Each assertion evaluated: name -> whether it held.
    assertions: dict[str, bool] = field(default_factory=dict)

    def fail(self, reason: FailureReason, message: str) -> ProbeResult:
        """Mark the probe failed; the first reason given wins."""
        if self.reason is None:
            self.reason = reason
            self.message = message
        self.success = False
        return self

    def succeed(self) -> ProbeResult:
        if self.reason is None:
            self.success = True
        return self


class Prober(Protocol):
    """One probe kind. It fills ``result`` and never raises; the caller owns the timeout."""

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
