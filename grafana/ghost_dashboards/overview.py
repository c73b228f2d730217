"""Ghost overview: every service and daemon at a glance, firing alerts, exporter health."""

from __future__ import annotations

from grafana_foundation_sdk.models.common import GraphThresholdsStyleMode

from .constants import (
    OVERVIEW_UID,
    PATCH_SUCCESS_OBJECTIVE,
    PIPELINE_DEADLINE,
    PIPELINE_DELIVERY_OBJECTIVE,
    WEBSOCKET_LAG_LIMIT,
)
from .exprs import (
    CANARY_COLOURS,
    DAEMON,
    HEALTH_MAPPINGS,
    JOB,
    OUTCOME_COLOURS,
    SERVICE,
    STATE_MAPPINGS,
    SYNC_MAPPINGS,
    UP_MAPPINGS,
    claimed_state,
    health_state,
    observed_state,
    quantile,
    selector,
)
from .layout import Board, BuiltDashboard
from .links import TO_PATCHES, TO_SERVICE
from .panels import (
    Query,
    heatmap_panel,
    stat_panel,
    state_timeline_panel,
    table_panel,
    timeseries_panel,
)
from .variables import (
    cluster_variables,
    daemon_variable,
    datasource_variable,
    job_variable,
    service_variable,
)

FIRING_GHOST_ALERTS = selector("ALERTS", 'alertname=~"Ghost.*"', 'alertstate="firing"')
#: Series colours of ghost_remediations_total results, by regular expression on the series name.
REMEDIATION_COLOURS = {
    ".*succeeded": "green",
    ".*failed": "red",
    ".*skipped_limit": "dark-red",
    ".*skipped_cooldown": "yellow",
    ".*skipped_busy": "blue",
    ".*refused": "purple",
    ".*skipped_global_limit": "orange",
    ".*cancelled": "light-blue",
    ".*dry_run": "text",
}


def build() -> BuiltDashboard:
    board = Board(
        OVERVIEW_UID,
        "Ghost overview",
        "Health and latency of every ghost service, whether ghost's own monitors agree with "
        "them and deliver real-time events in time, patch delivery by the stress daemons, "
        "firing Ghost alerts and the exporter itself.",
        [
            datasource_variable(),
            *cluster_variables(),
            job_variable(),
            service_variable(multi=True),
            daemon_variable(),
        ],
    )
    _services(board)
    _sync(board)
    _patches(board)
    _alerts(board)
    _exporter(board)
    return board.build()


def _services(board: Board) -> None:
    board.row("Services")
    board.add(
        stat_panel(
            "Service up",
            "Whether the last probe of each service succeeded (ghost_service_up). "
            "Click a tile for the service dashboard.",
            [Query(selector("ghost_service_up", JOB, SERVICE), "{{service}}", instant=True)],
            unit="none",
            steps=[(None, "red"), (1, "green")],
            mappings=UP_MAPPINGS,
            background=True,
            links=[TO_SERVICE],
        ),
        width=12,
        height=5,
    )
    board.add(
        stat_panel(
            "Service health",
            "Health state each service reports (ghost_service_health); UNKNOWN when its answer "
            "names no known state.",
            [Query(health_state(JOB, SERVICE), "{{service}}", instant=True)],
            unit="none",
            steps=[(None, "text"), (1, "red"), (2, "orange"), (3, "green")],
            mappings=HEALTH_MAPPINGS,
            background=True,
            links=[TO_SERVICE],
        ),
        width=12,
        height=5,
    )
    board.add(
        timeseries_panel(
            "Probe latency p95",
            "95th percentile of probe duration over 5 minutes, by service "
            "(recording rule ghost:probe_duration_seconds:p95_5m).",
            [Query(selector("ghost:probe_duration_seconds:p95_5m", SERVICE), "{{service}}")],
            unit="s",
            steps=[(None, "green"), (1, "orange"), (5, "red")],
            minimum=0,
            links=[TO_SERVICE],
        ),
        width=12,
        height=8,
    )
    board.add(
        timeseries_panel(
            "WebSocket message lag",
            "Age of the last message of each WebSocket feed (now minus its timestamp); "
            f"the red line is the {WEBSOCKET_LAG_LIMIT:g} s freshness limit.",
            [Query(selector("ghost_websocket_message_lag_seconds", JOB, SERVICE), "{{service}}")],
            unit="s",
            steps=[(None, "green"), (WEBSOCKET_LAG_LIMIT, "red")],
            threshold_style=GraphThresholdsStyleMode.DASHED,
            minimum=0,
            links=[TO_SERVICE],
        ),
        width=12,
        height=8,
    )


def _sync(board: Board) -> None:
    """Monitor sync: reporters' claims against the probes, and canaries against the deadline."""
    deadline = f"{PIPELINE_DEADLINE:g} s"
    objective = f"{PIPELINE_DELIVERY_OBJECTIVE:.0%}"
    board.row("Monitor sync")
    board.add(
        state_timeline_panel(
            "Monitor agreement",
            "Whether each reporter's claim about a service agrees with what the exporter "
            "observes (ghost_monitor_in_sync; the exporter tolerates one reporter interval of "
            "transition). DISAGREES for 2 minutes is GhostMonitorOutOfSync.",
            [
                Query(
                    "min by (reporter, service) ("
                    + selector("ghost_monitor_in_sync", JOB, SERVICE)
                    + ")",
                    "{{reporter}}: {{service}}",
                )
            ],
            mappings=SYNC_MAPPINGS,
            steps=[(None, "red"), (1, "green")],
        ),
        width=12,
        height=8,
    )
    board.add(
        state_timeline_panel(
            "Claimed vs observed",
            "For each service, the state each reporter claims (ghost_reported_health) above "
            "the state the exporter observes: DOWN while its probes fail, else the health "
            "state it reports (ghost_service_up, ghost_service_health). A frozen reporter "
            "shows a claim that stops changing while the observed state moves.",
            [
                Query(claimed_state(JOB, SERVICE), "{{reporter}} claims {{service}}"),
                Query(observed_state(JOB, SERVICE), "observed {{service}}"),
            ],
            mappings=STATE_MAPPINGS,
            steps=[(None, "red"), (0, "text"), (1, "red"), (2, "orange"), (3, "green")],
        ),
        width=12,
        height=8,
    )
    board.add(
        stat_panel(
            "Sync sources up",
            "Whether each reporter answered with claims that parse (ghost_reporter_up), and "
            "whether each pipeline's last canary reached every observer within its deadline "
            "(ghost_pipeline_up).",
            [
                Query(selector("ghost_reporter_up", JOB), "reporter {{reporter}}", instant=True),
                Query(selector("ghost_pipeline_up", JOB), "pipeline {{pipeline}}", instant=True),
            ],
            unit="none",
            steps=[(None, "red"), (1, "green")],
            mappings=UP_MAPPINGS,
            background=True,
        ),
        width=4,
        height=8,
    )
    board.add(
        stat_panel(
            "Canaries in time",
            "Share of canaries every observer saw within the deadline over the last 5 "
            f"minutes; green at the {objective} objective "
            "(recording rule ghost:pipeline_delivered_ratio:rate5m).",
            [Query(selector("ghost:pipeline_delivered_ratio:rate5m"), "{{pipeline}}")],
            unit="percentunit",
            steps=[(None, "red"), (PIPELINE_DELIVERY_OBJECTIVE, "green")],
            decimals=2,
            sparkline=True,
        ),
        width=4,
        height=8,
    )
    delivery = selector("ghost_pipeline_delivery_seconds_bucket", JOB)
    board.add(
        timeseries_panel(
            "Canary delivery time",
            "Time from emitting a canary to each observer seeing it, median and 95th "
            "percentile by pipeline and observer (ghost_pipeline_delivery_seconds); the red "
            f"line is ghost's {deadline} real-time promise, the pipelines' deadline. Lost "
            "canaries have no delivery time: see the outcomes.",
            [
                Query(
                    quantile(0.5, delivery, ["pipeline", "observer"]),
                    "{{pipeline}} {{observer}} p50",
                ),
                Query(
                    quantile(0.95, delivery, ["pipeline", "observer"]),
                    "{{pipeline}} {{observer}} p95",
                ),
            ],
            unit="s",
            steps=[(None, "green"), (PIPELINE_DEADLINE, "red")],
            threshold_style=GraphThresholdsStyleMode.DASHED,
            minimum=0,
        ),
        width=10,
        height=8,
    )
    board.add(
        timeseries_panel(
            "Canary outcomes",
            "Canaries per second by pipeline, observer and outcome "
            f"(ghost_pipeline_canaries_total): delivered within the {deadline} deadline, "
            "late (within twice it), lost.",
            [
                Query(
                    "sum by (pipeline, observer, outcome) (rate("
                    + selector("ghost_pipeline_canaries_total", JOB)
                    + "[$__rate_interval]))",
                    "{{pipeline}} {{observer}} {{outcome}}",
                )
            ],
            unit="ops",
            steps=[(None, "green")],
            stacked=True,
            minimum=0,
            colours=CANARY_COLOURS,
        ),
        width=6,
        height=8,
    )


def _patches(board: Board) -> None:
    success = selector("ghost:patch_success_ratio:rate5m", DAEMON)
    objective = f"{PATCH_SUCCESS_OBJECTIVE:.0%}"
    board.row("Patches")
    board.add(
        stat_panel(
            "Patch success rate",
            f"Share of patches completed over the last 5 minutes; green at the {objective} "
            "objective (recording rule ghost:patch_success_ratio:rate5m).",
            [Query(success, "{{daemon}}")],
            unit="percentunit",
            steps=[(None, "red"), (PATCH_SUCCESS_OBJECTIVE, "green")],
            decimals=2,
            sparkline=True,
            links=[TO_PATCHES],
        ),
        width=6,
        height=8,
    )
    board.add(
        timeseries_panel(
            "Patch success rate vs objective",
            f"Patch success ratio over 5 minutes against the {objective} objective (the line).",
            [Query(success, "{{daemon}}")],
            unit="percentunit",
            steps=[(None, "red"), (PATCH_SUCCESS_OBJECTIVE, "green")],
            threshold_style=GraphThresholdsStyleMode.LINE_AND_AREA,
            maximum=1,
            decimals=2,
            links=[TO_PATCHES],
        ),
        width=9,
        height=8,
    )
    board.add(
        timeseries_panel(
            "Patch throughput by outcome",
            "Patches finished per second by outcome (recording rule ghost:patches:rate5m).",
            [Query(selector("ghost:patches:rate5m", DAEMON), "{{daemon}} {{outcome}}")],
            unit="ops",
            steps=[(None, "green")],
            stacked=True,
            minimum=0,
            colours=OUTCOME_COLOURS,
            links=[TO_PATCHES],
        ),
        width=9,
        height=8,
    )
    board.add(
        heatmap_panel(
            "Patch duration heatmap",
            "Patches finished per duration bucket (ghost_patch_duration_seconds).",
            Query(
                "sum by (le) (increase("
                + selector("ghost_patch_duration_seconds_bucket", JOB, DAEMON)
                + "[$__rate_interval]))",
                "{{le}}",
                format="heatmap",
            ),
            unit="s",
            links=[TO_PATCHES],
        ),
        width=16,
        height=8,
    )
    board.add(
        timeseries_panel(
            "Patches in flight",
            "Patches executing now, by daemon (ghost_patches_in_flight).",
            [
                Query(
                    "sum by (daemon) (" + selector("ghost_patches_in_flight", JOB, DAEMON) + ")",
                    "{{daemon}}",
                )
            ],
            unit="short",
            steps=[(None, "green")],
            minimum=0,
            decimals=0,
            links=[TO_PATCHES],
        ),
        width=8,
        height=8,
    )


def _alerts(board: Board) -> None:
    board.row("Alerts")
    board.add(
        stat_panel(
            "Firing Ghost alerts",
            "Number of Ghost* alerts firing now.",
            [Query(f"count({FIRING_GHOST_ALERTS}) or vector(0)", "firing", instant=True)],
            unit="none",
            steps=[(None, "green"), (1, "red")],
            background=True,
        ),
        width=4,
        height=6,
    )
    board.add(
        table_panel(
            "Firing Ghost alert list",
            "Ghost* alerts firing now with their labels; empty while none fires.",
            Query(FIRING_GHOST_ALERTS, instant=True, format="table"),
            hidden_columns=["Time", "Value", "__name__", "alertstate"],
            unit="none",
            steps=[(None, "green")],
            no_value="No Ghost alert is firing",
        ),
        width=20,
        height=6,
        may_be_empty=True,
    )
    # ghost-remediate is scraped as a job of its own: its series are not filtered by $job.
    board.add(
        timeseries_panel(
            "Remediations",
            "Remediation decisions of ghost-remediate per second, by service and result "
            "(ghost_remediations_total): succeeded, failed, skipped by cooldown, attempt limit, "
            "global limit or a remediation already running, refused label values, cancelled "
            "when the alert resolved, dry runs. Empty until "
            "ghost-remediate acts or when it does not run.",
            [
                Query(
                    "sum by (service, result) (rate("
                    + selector("ghost_remediations_total", SERVICE)
                    + "[$__rate_interval]))",
                    "{{service}} {{result}}",
                )
            ],
            unit="ops",
            steps=[(None, "green")],
            minimum=0,
            colours=REMEDIATION_COLOURS,
            links=[TO_SERVICE],
        ),
        width=24,
        height=7,
        may_be_empty=True,
    )


def _exporter(board: Board) -> None:
    board.row("Exporter")
    board.add(
        stat_panel(
            "Exporter scrape up",
            "Whether Prometheus scraped each exporter instance (up); in /probe mode also each "
            "/probe scrape, whose instance is the target's name.",
            [Query(selector("up", JOB), "{{instance}}", instant=True)],
            unit="none",
            steps=[(None, "red"), (1, "green")],
            mappings=UP_MAPPINGS,
            background=True,
        ),
        width=4,
        height=6,
    )
    board.add(
        stat_panel(
            "Config reload",
            "Whether the exporter's last configuration reload succeeded "
            "(ghost_exporter_config_last_reload_successful).",
            [
                Query(
                    selector("ghost_exporter_config_last_reload_successful", JOB),
                    "{{instance}}",
                    instant=True,
                )
            ],
            unit="none",
            steps=[(None, "red"), (1, "green")],
            mappings={0: ("FAILED", "red"), 1: ("OK", "green")},
            background=True,
        ),
        width=4,
        height=6,
    )
    board.add(
        stat_panel(
            "Configured targets",
            "Targets the exporter probes, by kind (ghost_exporter_targets).",
            [
                Query(
                    "sum by (kind) (" + selector("ghost_exporter_targets", JOB) + ")",
                    "{{kind}}",
                    instant=True,
                )
            ],
            unit="short",
            steps=[(None, "blue")],
        ),
        width=4,
        height=6,
    )
    board.add(
        timeseries_panel(
            "Scrape duration",
            "How long Prometheus takes to scrape each exporter instance.",
            [Query(selector("scrape_duration_seconds", JOB), "{{instance}}")],
            unit="s",
            steps=[(None, "green"), (1, "orange"), (5, "red")],
            minimum=0,
        ),
        width=12,
        height=6,
    )
    board.add(
        timeseries_panel(
            "Scheduler lag p99",
            "99th percentile of how late probes start against their schedule; a growing lag "
            "means the exporter is saturated (ghost_exporter_scheduler_lag_seconds).",
            [
                Query(
                    quantile(
                        0.99,
                        selector("ghost_exporter_scheduler_lag_seconds_bucket", JOB),
                        ["instance"],
                    ),
                    "{{instance}}",
                )
            ],
            unit="s",
            steps=[(None, "green"), (0.5, "orange"), (1, "red")],
            minimum=0,
        ),
        width=8,
        height=7,
    )
    board.add(
        timeseries_panel(
            "Exporter CPU",
            "CPU used by each exporter process, in cores (process_cpu_seconds_total).",
            [
                Query(
                    "rate(" + selector("process_cpu_seconds_total", JOB) + "[$__rate_interval])",
                    "{{instance}}",
                )
            ],
            unit="percentunit",
            steps=[(None, "green"), (0.8, "orange")],
            minimum=0,
        ),
        width=8,
        height=7,
    )
    board.add(
        timeseries_panel(
            "Exporter memory",
            "Resident memory of each exporter process (process_resident_memory_bytes).",
            [Query(selector("process_resident_memory_bytes", JOB), "{{instance}}")],
            unit="bytes",
            steps=[(None, "green")],
            minimum=0,
        ),
        width=8,
        height=7,
    )
