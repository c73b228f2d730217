"""Ghost service: one service, chosen by the service variable, in detail."""

from __future__ import annotations

from grafana_foundation_sdk.models.common import GraphThresholdsStyleMode

from .constants import (
    AVAILABILITY_OBJECTIVE,
    ERROR_RATIO_WINDOWS,
    SERVICE_UID,
    WEBSOCKET_LAG_LIMIT,
)
from .exprs import (
    BURN_DESCRIPTION,
    BURN_STEPS,
    HEALTH_MAPPINGS,
    JOB,
    SERVICE,
    UP_MAPPINGS,
    burn_rate,
    health_state,
    quantile,
    selector,
)
from .layout import Board, BuiltDashboard
from .panels import Query, stat_panel, state_timeline_panel, timeseries_panel
from .variables import cluster_variables, datasource_variable, job_variable, service_variable

HEALTH_STEPS = [(None, "text"), (1.0, "red"), (2.0, "orange"), (3.0, "green")]


def build() -> BuiltDashboard:
    board = Board(
        SERVICE_UID,
        "Ghost service",
        "One ghost service in detail: availability, latency by phase, status code, health state "
        "history, failure reasons and certificate expiry.",
        [
            datasource_variable(),
            *cluster_variables(),
            job_variable(),
            service_variable(multi=False),
        ],
    )
    _now(board)
    _availability(board)
    _latency(board)
    _status(board)
    return board.build()


def _now(board: Board) -> None:
    objective = f"{AVAILABILITY_OBJECTIVE:.1%}"
    board.row("Now")
    board.add(
        stat_panel(
            "Up",
            "Whether the last probe succeeded (ghost_service_up).",
            [Query(selector("ghost_service_up", JOB, SERVICE), "{{service}}", instant=True)],
            unit="none",
            steps=[(None, "red"), (1, "green")],
            mappings=UP_MAPPINGS,
            background=True,
        ),
        width=4,
        height=5,
    )
    board.add(
        stat_panel(
            "Health",
            "Health state the service reports (ghost_service_health).",
            [Query(health_state(JOB, SERVICE), "{{service}}", instant=True)],
            unit="none",
            steps=HEALTH_STEPS,
            mappings=HEALTH_MAPPINGS,
            background=True,
        ),
        width=4,
        height=5,
    )
    board.add(
        stat_panel(
            "Availability (1h)",
            f"Share of successful probes over the last hour; green at the {objective} objective "
            "(recording rule ghost:service_availability:ratio_1h).",
            [Query(selector("ghost:service_availability:ratio_1h", SERVICE), "{{service}}")],
            unit="percentunit",
            steps=[(None, "red"), (AVAILABILITY_OBJECTIVE, "green")],
            decimals=2,
            sparkline=True,
        ),
        width=4,
        height=5,
    )
    board.add(
        stat_panel(
            "Since last success",
            "Time since the last successful probe (ghost_service_last_success_timestamp_seconds).",
            [
                Query(
                    "time() - "
                    + selector("ghost_service_last_success_timestamp_seconds", JOB, SERVICE),
                    "{{service}}",
                    instant=True,
                )
            ],
            unit="s",
            steps=[(None, "green"), (60, "orange"), (300, "red")],
            decimals=0,
        ),
        width=4,
        height=5,
    )
    board.add(
        stat_panel(
            "HTTP status",
            "Status code of the last HTTP probe; 0 when no response arrived "
            "(ghost_probe_http_status_code). Empty for WebSocket and TCP services.",
            [
                Query(
                    selector("ghost_probe_http_status_code", JOB, SERVICE),
                    "{{service}}",
                    instant=True,
                )
            ],
            unit="none",
            steps=[(None, "red"), (200, "green"), (300, "blue"), (400, "orange"), (500, "red")],
            no_value="not HTTP",
        ),
        width=4,
        height=5,
        may_be_empty=True,
    )
    board.add(
        stat_panel(
            "Certificate expiry",
            "Days until the earliest certificate of the service's chain expires "
            "(ghost_tls_cert_expiry_timestamp_seconds). Empty for services without TLS.",
            [
                Query(
                    "("
                    + selector("ghost_tls_cert_expiry_timestamp_seconds", JOB, SERVICE)
                    + " - time()) / 86400",
                    "{{service}}",
                    instant=True,
                )
            ],
            unit="d",
            steps=[(None, "red"), (7, "orange"), (14, "green")],
            decimals=1,
            no_value="no TLS",
        ),
        width=4,
        height=5,
        may_be_empty=True,
    )


def _availability(board: Board) -> None:
    objective = f"{AVAILABILITY_OBJECTIVE:.1%}"
    board.row("Availability")
    board.add(
        timeseries_panel(
            "Availability over time",
            f"Availability over the last hour (recording rule) and every probe's result "
            f"(ghost_service_up); the line is the {objective} objective.",
            [
                Query(selector("ghost:service_availability:ratio_1h", SERVICE), "1h availability"),
                Query(selector("ghost_service_up", JOB, SERVICE), "up"),
            ],
            unit="percentunit",
            steps=[(None, "red"), (AVAILABILITY_OBJECTIVE, "green")],
            threshold_style=GraphThresholdsStyleMode.DASHED,
            minimum=0,
            maximum=1,
            decimals=2,
        ),
        width=12,
        height=8,
    )
    board.add(
        timeseries_panel(
            "Availability burn rate",
            f"Error budget burn rate per window against the {objective} objective "
            "(recording rules ghost:service_error_ratio:rate*). " + BURN_DESCRIPTION,
            [
                Query(
                    burn_rate("ghost:service_error_ratio", window, AVAILABILITY_OBJECTIVE, SERVICE),
                    window,
                )
                for window in ERROR_RATIO_WINDOWS
            ],
            unit="suffix:x",
            steps=BURN_STEPS,
            threshold_style=GraphThresholdsStyleMode.DASHED,
            minimum=0,
            decimals=2,
        ),
        width=12,
        height=8,
    )


def _latency(board: Board) -> None:
    buckets = selector("ghost_probe_duration_seconds_bucket", JOB, SERVICE)
    board.row("Latency")
    board.add(
        timeseries_panel(
            "Latency by phase",
            "Phases of the last probe, stacked: resolve, connect, tls, processing, transfer "
            "(HTTP); connect, first_message (WebSocket) (ghost_probe_phase_seconds).",
            [Query(selector("ghost_probe_phase_seconds", JOB, SERVICE), "{{phase}}")],
            unit="s",
            steps=[(None, "green")],
            stacked=True,
            bars=True,
            minimum=0,
        ),
        width=12,
        height=8,
    )
    board.add(
        timeseries_panel(
            "Probe duration percentiles",
            "Median and 99th percentile of probe duration, and the 95th percentile over 5 "
            "minutes (recording rule ghost:probe_duration_seconds:p95_5m).",
            [
                Query(quantile(0.5, buckets, ["service"]), "p50"),
                Query(selector("ghost:probe_duration_seconds:p95_5m", SERVICE), "p95 (5m)"),
                Query(quantile(0.99, buckets, ["service"]), "p99"),
            ],
            unit="s",
            steps=[(None, "green"), (1, "orange"), (5, "red")],
            minimum=0,
        ),
        width=12,
        height=8,
    )


def _status(board: Board) -> None:
    board.row("Status")
    board.add(
        state_timeline_panel(
            "Health state history",
            "Health state the service reported over time (ghost_service_health).",
            [Query(health_state(JOB, SERVICE), "{{service}}")],
            mappings=HEALTH_MAPPINGS,
            steps=HEALTH_STEPS,
        ),
        width=24,
        height=5,
    )
    board.add(
        timeseries_panel(
            "HTTP status code",
            "Status code of every HTTP probe; 0 when no response arrived "
            "(ghost_probe_http_status_code). Empty for WebSocket and TCP services.",
            [Query(selector("ghost_probe_http_status_code", JOB, SERVICE), "{{service}}")],
            unit="none",
            steps=[(None, "green"), (400, "orange"), (500, "red")],
            threshold_style=GraphThresholdsStyleMode.DASHED,
            minimum=0,
            decimals=0,
        ),
        width=12,
        height=8,
        may_be_empty=True,
    )
    board.add(
        timeseries_panel(
            "Failure reasons",
            "Failed probes per second by reason: timeout, connect, tls, status, body, health, "
            "protocol, assertion (ghost_probe_failures_total).",
            [
                Query(
                    "sum by (reason) (rate("
                    + selector("ghost_probe_failures_total", JOB, SERVICE)
                    + "[$__rate_interval]))",
                    "{{reason}}",
                )
            ],
            unit="reqps",
            steps=[(None, "green")],
            bars=True,
            stacked=True,
            minimum=0,
        ),
        width=12,
        height=8,
    )
    board.add(
        timeseries_panel(
            "Probes run",
            "Probes run per second against the service (ghost_probes_total).",
            [
                Query(
                    "sum by (service) (rate("
                    + selector("ghost_probes_total", JOB, SERVICE)
                    + "[$__rate_interval]))",
                    "{{service}}",
                )
            ],
            unit="reqps",
            steps=[(None, "green")],
            minimum=0,
        ),
        width=12,
        height=8,
    )
    board.add(
        timeseries_panel(
            "WebSocket message lag",
            "Age of the last WebSocket message (now minus its timestamp); the red line is the "
            f"{WEBSOCKET_LAG_LIMIT:g} s freshness limit. Empty for services without a "
            "WebSocket feed.",
            [Query(selector("ghost_websocket_message_lag_seconds", JOB, SERVICE), "{{service}}")],
            unit="s",
            steps=[(None, "green"), (WEBSOCKET_LAG_LIMIT, "red")],
            threshold_style=GraphThresholdsStyleMode.DASHED,
            minimum=0,
        ),
        width=12,
        height=8,
        may_be_empty=True,
    )
    board.add(
        timeseries_panel(
            "Attempts per probe",
            "Attempts per probe, retries included: 1 when every first attempt succeeds, up to "
            "retries + 1 for a flaky service whose retries keep it up "
            "(ghost_probe_attempts_total / ghost_probes_total).",
            [
                Query(
                    "sum by (service) (rate("
                    + selector("ghost_probe_attempts_total", JOB, SERVICE)
                    + "[$__rate_interval])) / sum by (service) (rate("
                    + selector("ghost_probes_total", JOB, SERVICE)
                    + "[$__rate_interval]))",
                    "{{service}}",
                )
            ],
            unit="none",
            steps=[(None, "green"), (1.2, "orange")],
            threshold_style=GraphThresholdsStyleMode.DASHED,
            minimum=1,
        ),
        width=12,
        height=8,
    )
    board.add(
        timeseries_panel(
            "Assertions",
            "Each CEL assertion at its last evaluation: 1 held, 0 false or not evaluable "
            "(ghost_probe_assertion_ok). Empty for services without assertions.",
            [
                Query(
                    selector("ghost_probe_assertion_ok", JOB, SERVICE),
                    "{{service}} {{assertion}}",
                )
            ],
            unit="none",
            steps=[(None, "red"), (1, "green")],
            minimum=0,
            maximum=1,
            decimals=0,
        ),
        width=12,
        height=8,
        may_be_empty=True,
    )
