"""What one probe found: the result, its failure reason and health state.

A leaf: it imports nothing from ghost_exporter, so that every layer (the HTTP client, the
probers, the config of kinds, the store) can use it without an import cycle.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field


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


class ProbeError(Exception):
    """An error raised while probing whose failure reason is known where it is raised: the
    probe-timeout wrapper fails the probe with ``reason`` and the error's message as it is."""

    reason: FailureReason = FailureReason.PROTOCOL
