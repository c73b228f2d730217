"""Samples of one target, derived from its state; the single source for every exposition path."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ghost_exporter.floats import format_float
from ghost_exporter.metrics import PROBE_DURATION_BUCKETS, MetricDef
from ghost_exporter.metrics import SERVICE_METRICS as _S
from ghost_exporter.results import FailureReason, Health, ProbeResult

if TYPE_CHECKING:
    from ghost_exporter.config.model import Target

HEALTH_STATES: tuple[str, ...] = tuple(h.value for h in Health)
REASONS: tuple[str, ...] = tuple(r.value for r in FailureReason)
PHASES: tuple[str, ...] = ("resolve", "connect", "tls", "processing", "transfer", "first_message")

(
    UP,
    HEALTH,
    DURATION,
    PHASE,
    STATUS_CODE,
    PROBES,
    ATTEMPTS,
    FAILURES,
    LAST_SUCCESS,
    MESSAGE_LAG,
    CERT_EXPIRY,
    ASSERTION_OK,
) = _S

# A sample: (family, sample name, extra labels after the target's own, value).
Sample = tuple[MetricDef, str, tuple[tuple[str, str], ...], float]


@dataclass(slots=True)
class TargetState:
    """Everything the exporter remembers of one target between scrapes."""

    target: Target
    probes: int = 0
    attempts: int = 0
    failures: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASONS, 0))
    bucket_counts: list[int] = field(
        default_factory=lambda: [0] * (len(PROBE_DURATION_BUCKETS) + 1)
    )
    duration_sum: float = 0.0
    last: ProbeResult | None = None
    last_success: float | None = None
    #: Each assertion's verdict at its last evaluation.
    assertion_ok: dict[str, bool] = field(default_factory=dict)

    def retarget(self, target: Target) -> None:
        """Follow a changed configuration of the same target (its counters are kept)."""
        self.target = target
        names = {a.name for a in getattr(target.spec, "assertions", ())}
        self.assertion_ok = {k: v for k, v in self.assertion_ok.items() if k in names}

    def observe(self, result: ProbeResult) -> None:
        self.probes += 1
        self.attempts += result.attempts
        if result.success:
            self.last_success = result.started + result.duration
        elif result.reason is not None:
            self.failures[result.reason.value] += 1
        self.duration_sum += result.duration
        for i, bound in enumerate(PROBE_DURATION_BUCKETS):
            if result.duration <= bound:
                self.bucket_counts[i] += 1
                break
        else:
            self.bucket_counts[-1] += 1
        self.last = result
        if result.assertions:
            self.assertion_ok.update(result.assertions)


def _le(bound: float) -> str:
    return format_float(bound)


def histogram(
    family: MetricDef, bounds: tuple[float, ...], cumulative: list[int], total: float
) -> Iterator[Sample]:
    for bound, count in zip(bounds, cumulative, strict=True):
        yield family, family.name + "_bucket", (("le", _le(bound)),), float(count)
    yield family, family.name + "_count", (), float(cumulative[-1])
    yield family, family.name + "_sum", (), total


def service_samples(state: TargetState) -> Iterator[Sample]:
    result = state.last
    if result is None:
        return
    yield UP, UP.name, (), 1.0 if result.success else 0.0
    for health in HEALTH_STATES:
        yield HEALTH, HEALTH.name, (("state", health),), 1.0 if result.health == health else 0.0
    running = 0
    cumulative = []
    for count in state.bucket_counts:
        running += count
        cumulative.append(running)
    yield from histogram(
        DURATION, (*PROBE_DURATION_BUCKETS, math.inf), cumulative, state.duration_sum
    )
    for phase in PHASES:
        if phase in result.phases:
            yield PHASE, PHASE.name, (("phase", phase),), result.phases[phase]
    if state.target.kind == "http":
        yield STATUS_CODE, STATUS_CODE.name, (), float(result.status_code or 0)
    yield PROBES, PROBES.name, (), float(state.probes)
    yield ATTEMPTS, ATTEMPTS.name, (), float(state.attempts)
    for reason in REASONS:
        yield FAILURES, FAILURES.name, (("reason", reason),), float(state.failures[reason])
    if state.last_success is not None:
        yield LAST_SUCCESS, LAST_SUCCESS.name, (), state.last_success
    if result.message_lag is not None:
        yield MESSAGE_LAG, MESSAGE_LAG.name, (), result.message_lag
    if result.cert_expiry is not None:
        yield CERT_EXPIRY, CERT_EXPIRY.name, (), result.cert_expiry
    for name, held in state.assertion_ok.items():
        yield ASSERTION_OK, ASSERTION_OK.name, (("assertion", name),), 1.0 if held else 0.0
