"""The one table of every metric ghost-remediate publishes, and the registry built from it."""

from __future__ import annotations

from typing import Final, Literal, get_args

from ghost_common.metricdefs import MetricDef, build_registry
from ghost_common.metricdefs import sample_names as _sample_names

#: Every value of the ``result`` label of ghost_remediations_total.
Result = Literal[
    "succeeded",
    "failed",
    "cancelled",
    "skipped_cooldown",
    "skipped_limit",
    "skipped_busy",
    "skipped_global_limit",
    "refused",
    "dry_run",
]
RESULTS: Final[tuple[Result, ...]] = get_args(Result)

#: Buckets of ghost_remediation_duration_seconds: an action and its verification.
DURATION_BUCKETS: Final[tuple[float, ...]] = (
    0.1,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
)

REMEDIATION_METRICS: Final[tuple[MetricDef, ...]] = (
    MetricDef(
        "ghost_remediations_total",
        "counter",
        "Remediation decisions by service, action (the rule's name) and result: succeeded, "
        "failed, cancelled, skipped_cooldown, skipped_limit, skipped_busy, "
        "skipped_global_limit, refused, dry_run.",
        ("service", "action", "result"),
        example='increase(ghost_remediations_total{result=~"failed|skipped_limit"}[30m]) > 0',
    ),
    MetricDef(
        "ghost_remediation_duration_seconds",
        "histogram",
        "Duration of every remediation that ran: its action and its verification.",
        ("service", "action", "result"),
        unit="seconds",
        buckets=DURATION_BUCKETS,
    ),
    MetricDef(
        "ghost_remediations_in_progress",
        "gauge",
        "Remediations running now, by service.",
        ("service",),
    ),
    MetricDef(
        "ghost_remediation_silence_errors_total",
        "counter",
        "Alertmanager silences that could not be created or expired, by operation: create, expire.",
        ("operation",),
        example="increase(ghost_remediation_silence_errors_total[1h]) > 0",
    ),
    MetricDef(
        "ghost_remediate_config_last_reload_successful",
        "gauge",
        "1 if the last configuration (re)load succeeded, else 0.",
    ),
)


def sample_names() -> frozenset[str]:
    """Every sample name ghost-remediate can publish, histogram suffixes included."""
    return _sample_names(REMEDIATION_METRICS)


class Metrics:
    """The metrics of one ghost-remediate, built from the table in its own registry."""

    def __init__(self) -> None:
        metrics = build_registry(REMEDIATION_METRICS)
        self.registry = metrics.registry
        self.remediations = metrics.counter("ghost_remediations_total")
        self.duration = metrics.histogram("ghost_remediation_duration_seconds")
        self.in_progress = metrics.gauge("ghost_remediations_in_progress")
        self.silence_errors = metrics.counter("ghost_remediation_silence_errors_total")
        for operation in ("create", "expire"):
            self.silence_errors.labels(operation)
        self.reload_successful = metrics.gauge("ghost_remediate_config_last_reload_successful")

    def prepare(self, service: str, action: str) -> None:
        """Create every result series of (service, action) at 0, so that the first failure is
        an increase Prometheus sees rather than a series that starts at 1."""
        for result in RESULTS:
            self.remediations.labels(service, action, result)
        self.in_progress.labels(service)

    def count(self, service: str, action: str, result: Result) -> None:
        self.prepare(service, action)
        self.remediations.labels(service, action, result).inc()

    def observe(self, service: str, action: str, result: Result, seconds: float) -> None:
        self.duration.labels(service, action, result).observe(seconds)
