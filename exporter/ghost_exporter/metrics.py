"""The one table of every metric the exporter publishes: name, type, help, labels, unit, buckets.

The exporter's own metrics (``EXPORTER_METRICS``) are built from it by
:func:`ghost_common.metricdefs.build_registry`; the target families are written by the fast
exposition from the same definitions.
"""

from __future__ import annotations

from ghost_common.metricdefs import MetricDef as MetricDef
from ghost_common.metricdefs import sample_names as _sample_names

#: Buckets of ghost_probe_duration_seconds (seconds).
PROBE_DURATION_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

#: Buckets of ghost_exporter_scheduler_lag_seconds (seconds).
SCHEDULER_LAG_BUCKETS: tuple[float, ...] = (
    0.001,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)


SERVICE_METRICS: tuple[MetricDef, ...] = (
    MetricDef(
        "ghost_service_up",
        "gauge",
        "1 if the last probe of the service succeeded, else 0.",
        ("service",),
        example="ghost_service_up == 0",
    ),
    MetricDef(
        "ghost_service_health",
        "gauge",
        "1 for the current health state of the service (healthy, degraded, unhealthy, unknown).",
        ("service", "state"),
        example='ghost_service_health{state="healthy"} == 0',
    ),
    MetricDef(
        "ghost_probe_duration_seconds",
        "histogram",
        "Duration of every probe of the service.",
        ("service",),
        unit="seconds",
        buckets=PROBE_DURATION_BUCKETS,
        example=(
            "histogram_quantile(0.95, sum by (service, le) "
            "(rate(ghost_probe_duration_seconds_bucket[5m])))"
        ),
    ),
    MetricDef(
        "ghost_probe_phase_seconds",
        "gauge",
        "Duration of each phase of the last probe (resolve, connect, tls, processing, transfer, "
        "first_message).",
        ("service", "phase"),
        unit="seconds",
        example='ghost_probe_phase_seconds{phase="connect"}',
    ),
    MetricDef(
        "ghost_probe_http_status_code",
        "gauge",
        "HTTP status code of the last probe (0 when no response was received).",
        ("service",),
        example="ghost_probe_http_status_code >= 500",
    ),
    MetricDef(
        "ghost_probes_total",
        "counter",
        "Probes run against the service.",
        ("service",),
        example="rate(ghost_probes_total[5m])",
    ),
    MetricDef(
        "ghost_probe_attempts_total",
        "counter",
        "Attempts made against the service, retries included (equal to the probes when "
        "retries is 0).",
        ("service",),
        example="rate(ghost_probe_attempts_total[15m]) / rate(ghost_probes_total[15m]) > 1.2",
    ),
    MetricDef(
        "ghost_probe_failures_total",
        "counter",
        "Probes that failed, by reason (timeout, connect, tls, status, body, health, protocol, "
        "assertion).",
        ("service", "reason"),
        example="sum by (service, reason) (rate(ghost_probe_failures_total[5m]))",
    ),
    MetricDef(
        "ghost_service_last_success_timestamp_seconds",
        "gauge",
        "Unix time of the last successful probe of the service.",
        ("service",),
        unit="seconds",
        example="time() - ghost_service_last_success_timestamp_seconds",
    ),
    MetricDef(
        "ghost_websocket_message_lag_seconds",
        "gauge",
        "Now minus the timestamp carried by the last WebSocket message received.",
        ("service",),
        unit="seconds",
        example="ghost_websocket_message_lag_seconds > 5",
    ),
    MetricDef(
        "ghost_tls_cert_expiry_timestamp_seconds",
        "gauge",
        "Unix time at which the earliest certificate of the peer's chain expires.",
        ("service",),
        unit="seconds",
        example="(ghost_tls_cert_expiry_timestamp_seconds - time()) / 86400 < 14",
    ),
    MetricDef(
        "ghost_probe_assertion_ok",
        "gauge",
        "1 if the assertion held at its last evaluation, 0 if it was false or could not be "
        "evaluated.",
        ("service", "assertion"),
        example="ghost_probe_assertion_ok == 0",
    ),
)

DAEMON_METRICS: tuple[MetricDef, ...] = (
    MetricDef(
        "ghost_daemon_up",
        "gauge",
        "1 if the daemon's status API answered and its answer parsed, else 0.",
        ("daemon",),
        example="ghost_daemon_up == 0",
    ),
    MetricDef(
        "ghost_patches_total",
        "counter",
        "Patches finished by the daemon since it started, by outcome (completed, failed, timeout).",
        ("daemon", "outcome"),
        example='sum by (daemon) (rate(ghost_patches_total{outcome="completed"}[5m]))',
    ),
    MetricDef(
        "ghost_patches_in_flight",
        "gauge",
        "Patches executing now.",
        ("daemon",),
        example="ghost_patches_in_flight",
    ),
    MetricDef(
        "ghost_patch_duration_seconds",
        "histogram",
        "Durations of the patches the daemon finished (its cumulative histogram, mirrored).",
        ("daemon",),
        unit="seconds",
        example=(
            "histogram_quantile(0.95, sum by (daemon, le) "
            "(rate(ghost_patch_duration_seconds_bucket[5m])))"
        ),
    ),
    MetricDef(
        "ghost_daemon_start_time_seconds",
        "gauge",
        "Unix time at which the daemon instance started; a change explains counter resets.",
        ("daemon",),
        unit="seconds",
        example="changes(ghost_daemon_start_time_seconds[1h])",
    ),
)

REPORTER_METRICS: tuple[MetricDef, ...] = (
    MetricDef(
        "ghost_reporter_up",
        "gauge",
        "1 if the reporter's last answer was read and parsed, else 0.",
        ("reporter",),
        example="ghost_reporter_up == 0",
    ),
    MetricDef(
        "ghost_reported_health",
        "gauge",
        "1 for the health state the reporter claims for a service the exporter probes "
        "(healthy, degraded, unhealthy, unknown).",
        ("reporter", "service", "state"),
        example='ghost_reported_health{state="healthy"} == 1',
    ),
    MetricDef(
        "ghost_monitor_in_sync",
        "gauge",
        "1 if the reporter's claim about the service agrees with the exporter's own probes "
        "(within one reporter interval), 0 if it does not.",
        ("reporter", "service"),
        example="ghost_monitor_in_sync == 0",
    ),
    MetricDef(
        "ghost_reporter_unmatched_services",
        "gauge",
        "Services known to one side only: listed by the reporter but not probed "
        "(side=reporter), or probed but not listed (side=exporter).",
        ("reporter", "side"),
        example='ghost_reporter_unmatched_services{side="exporter"} > 0',
    ),
)

PIPELINE_METRICS: tuple[MetricDef, ...] = (
    MetricDef(
        "ghost_pipeline_up",
        "gauge",
        "1 if the last canary reached every observer within the deadline, else 0.",
        ("pipeline",),
        example="ghost_pipeline_up == 0",
    ),
    MetricDef(
        "ghost_pipeline_delivery_seconds",
        "histogram",
        "Time from sending the canary to an observer seeing it, on the exporter's monotonic "
        "clock; buckets are fractions and multiples of the deadline, up to twice it.",
        ("pipeline", "observer"),
        unit="seconds",
        example=(
            "histogram_quantile(0.95, sum by (pipeline, observer, le) "
            "(rate(ghost_pipeline_delivery_seconds_bucket[15m])))"
        ),
    ),
    MetricDef(
        "ghost_pipeline_canaries_total",
        "counter",
        "Canaries emitted, by what an observer saw: delivered (within the deadline), late "
        "(within twice the deadline), lost.",
        ("pipeline", "observer", "outcome"),
        example=(
            "sum by (pipeline, observer) "
            '(increase(ghost_pipeline_canaries_total{outcome!="delivered"}[15m]))'
        ),
    ),
    MetricDef(
        "ghost_pipeline_emit_failures_total",
        "counter",
        "Canaries that could not be emitted, by reason (timeout, connect, tls, status, body, "
        "health, protocol).",
        ("pipeline", "reason"),
        example="rate(ghost_pipeline_emit_failures_total[15m]) > 0",
    ),
)

EXPORTER_METRICS: tuple[MetricDef, ...] = (
    MetricDef(
        "ghost_exporter_build_info",
        "gauge",
        "Always 1; labelled with the exporter's version and Python version.",
        ("version", "python_version"),
        example="ghost_exporter_build_info",
    ),
    MetricDef(
        "ghost_exporter_config_last_reload_successful",
        "gauge",
        "1 if the last configuration reload succeeded, else 0.",
        example="ghost_exporter_config_last_reload_successful == 0",
    ),
    MetricDef(
        "ghost_exporter_config_last_reload_success_timestamp_seconds",
        "gauge",
        "Unix time of the last successful configuration reload.",
        unit="seconds",
        example="time() - ghost_exporter_config_last_reload_success_timestamp_seconds",
    ),
    MetricDef(
        "ghost_exporter_targets",
        "gauge",
        "Configured targets, by kind (http, websocket, tcp, daemon, reporter, pipeline).",
        ("kind",),
        example="sum(ghost_exporter_targets)",
    ),
    MetricDef(
        "ghost_exporter_scheduler_lag_seconds",
        "histogram",
        "How late probes start against their schedule.",
        unit="seconds",
        buckets=SCHEDULER_LAG_BUCKETS,
        example=("histogram_quantile(0.99, rate(ghost_exporter_scheduler_lag_seconds_bucket[5m]))"),
    ),
    MetricDef(
        "ghost_exporter_probes_in_flight",
        "gauge",
        "Scheduled probes running now.",
        example="ghost_exporter_probes_in_flight",
    ),
    MetricDef(
        "ghost_exporter_asyncio_tasks",
        "gauge",
        "asyncio tasks alive in the exporter's event loop (probes, scrapes, the scheduler).",
        example="max_over_time(ghost_exporter_asyncio_tasks[1h])",
    ),
)

ALL_METRICS: tuple[MetricDef, ...] = (
    SERVICE_METRICS + DAEMON_METRICS + REPORTER_METRICS + PIPELINE_METRICS + EXPORTER_METRICS
)

#: Labels the exporter sets on target series; a configured label may not use these names.
RESERVED_LABELS: frozenset[str] = frozenset(
    {
        "service",
        "daemon",
        "reporter",
        "pipeline",
        "observer",
        "side",
        "state",
        "phase",
        "reason",
        "outcome",
        "assertion",
        "le",
        "job",
        "instance",
        "kind",
    }
)


def delivery_buckets(deadline: float) -> tuple[float, ...]:
    """Buckets of ghost_pipeline_delivery_seconds: fractions of the deadline, the deadline
    itself, and multiples of it up to twice the deadline (where a canary turns lost)."""
    factors = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
    return tuple(round(deadline * f, 6) for f in factors)


def metric_names() -> frozenset[str]:
    """Every family name the exporter can publish, without sample suffixes."""
    return frozenset(m.name for m in ALL_METRICS)


def sample_names() -> frozenset[str]:
    """Every sample name the exporter can publish, histogram suffixes included."""
    return _sample_names(ALL_METRICS)
