"""Ghost patches: patch delivery by the stress daemons."""

from __future__ import annotations

from grafana_foundation_sdk.models.common import GraphThresholdsStyleMode

from .constants import ERROR_RATIO_WINDOWS, PATCH_SUCCESS_OBJECTIVE, PATCHES_UID
from .exprs import (
    BURN_DESCRIPTION,
    BURN_STEPS,
    DAEMON,
    JOB,
    OUTCOME_COLOURS,
    UP_MAPPINGS,
    burn_rate,
    quantile,
    selector,
)
from .layout import Board, BuiltDashboard
from .panels import Query, heatmap_panel, stat_panel, timeseries_panel
from .variables import cluster_variables, daemon_variable, datasource_variable, job_variable

PERCENTILES = (0.5, 0.95, 0.99)


def build() -> BuiltDashboard:
    board = Board(
        PATCHES_UID,
        "Ghost patches",
        "Patch delivery by the stress daemons: throughput by outcome, success ratio and error "
        "budget burn rate, duration percentiles and heatmap, patches in flight, restarts.",
        [datasource_variable(), *cluster_variables(), job_variable(), daemon_variable()],
    )
    _now(board)
    _success(board)
    _duration(board)
    return board.build()


def _now(board: Board) -> None:
    objective = f"{PATCH_SUCCESS_OBJECTIVE:.0%}"
    board.row("Now")
    board.add(
        stat_panel(
            "Daemon up",
            "Whether each daemon's status API answered and parsed (ghost_daemon_up).",
            [Query(selector("ghost_daemon_up", JOB, DAEMON), "{{daemon}}", instant=True)],
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
            "Success rate (5m)",
            f"Share of patches completed over 5 minutes; green at the {objective} objective "
            "(recording rule ghost:patch_success_ratio:rate5m).",
            [Query(selector("ghost:patch_success_ratio:rate5m", DAEMON), "{{daemon}}")],
            unit="percentunit",
            steps=[(None, "red"), (PATCH_SUCCESS_OBJECTIVE, "green")],
            decimals=2,
            sparkline=True,
        ),
        width=5,
        height=5,
    )
    board.add(
        stat_panel(
            "Burn rate (1h)",
            f"Error budget burn rate over 1 hour against the {objective} objective "
            f"(ghost:patch_error_ratio:rate1h / (1 - {PATCH_SUCCESS_OBJECTIVE})).",
            [
                Query(
                    burn_rate("ghost:patch_error_ratio", "1h", PATCH_SUCCESS_OBJECTIVE, DAEMON),
                    "{{daemon}}",
                    instant=True,
                )
            ],
            unit="suffix:x",
            steps=BURN_STEPS,
            decimals=2,
        ),
        width=5,
        height=5,
    )
    board.add(
        stat_panel(
            "In flight now",
            "Patches executing now (ghost_patches_in_flight).",
            [Query(selector("ghost_patches_in_flight", JOB, DAEMON), "{{daemon}}", instant=True)],
            unit="short",
            steps=[(None, "green")],
            decimals=0,
        ),
        width=5,
        height=5,
    )
    board.add(
        stat_panel(
            "Restarts in range",
            "Daemon restarts within the dashboard's time range "
            "(changes of ghost_daemon_start_time_seconds).",
            [
                Query(
                    "changes("
                    + selector("ghost_daemon_start_time_seconds", JOB, DAEMON)
                    + "[$__range])",
                    "{{daemon}}",
                    instant=True,
                )
            ],
            unit="short",
            steps=[(None, "green"), (1, "orange")],
            decimals=0,
        ),
        width=5,
        height=5,
    )


def _success(board: Board) -> None:
    objective = f"{PATCH_SUCCESS_OBJECTIVE:.0%}"
    board.row("Throughput and success")
    board.add(
        timeseries_panel(
            "Patch rate by outcome",
            "Patches finished per second by outcome: completed, failed, timeout "
            "(recording rule ghost:patches:rate5m).",
            [Query(selector("ghost:patches:rate5m", DAEMON), "{{daemon}} {{outcome}}")],
            unit="ops",
            steps=[(None, "green")],
            stacked=True,
            minimum=0,
            colours=OUTCOME_COLOURS,
        ),
        width=12,
        height=8,
    )
    board.add(
        timeseries_panel(
            "Patch success ratio",
            f"Share of patches completed over 5 minutes against the {objective} objective "
            "(the line).",
            [Query(selector("ghost:patch_success_ratio:rate5m", DAEMON), "{{daemon}}")],
            unit="percentunit",
            steps=[(None, "red"), (PATCH_SUCCESS_OBJECTIVE, "green")],
            threshold_style=GraphThresholdsStyleMode.LINE_AND_AREA,
            maximum=1,
            decimals=2,
        ),
        width=12,
        height=8,
    )
    board.add(
        timeseries_panel(
            "Error budget burn rate",
            f"Error budget burn rate per window against the {objective} objective "
            "(recording rules ghost:patch_error_ratio:rate*). " + BURN_DESCRIPTION,
            [
                Query(
                    burn_rate("ghost:patch_error_ratio", window, PATCH_SUCCESS_OBJECTIVE, DAEMON),
                    "{{daemon}} " + window,
                )
                for window in ERROR_RATIO_WINDOWS
            ],
            unit="suffix:x",
            steps=BURN_STEPS,
            threshold_style=GraphThresholdsStyleMode.DASHED,
            minimum=0,
            decimals=2,
        ),
        width=24,
        height=8,
    )


def _duration(board: Board) -> None:
    buckets = selector("ghost_patch_duration_seconds_bucket", JOB, DAEMON)
    by_daemon = "sum by (daemon) (rate({}[$__rate_interval]))"
    mean = (
        by_daemon.format(selector("ghost_patch_duration_seconds_sum", JOB, DAEMON))
        + " / "
        + by_daemon.format(selector("ghost_patch_duration_seconds_count", JOB, DAEMON))
    )
    board.row("Duration")
    board.add(
        timeseries_panel(
            "Patch duration percentiles",
            "p50, p95 and p99 of patch duration from the daemon's histogram, and the mean "
            "(ghost_patch_duration_seconds).",
            [
                *(
                    Query(quantile(q, buckets, ["daemon"]), f"{{{{daemon}}}} p{q * 100:g}")
                    for q in PERCENTILES
                ),
                Query(mean, "{{daemon}} mean"),
            ],
            unit="s",
            steps=[(None, "green")],
            minimum=0,
        ),
        width=12,
        height=8,
    )
    board.add(
        heatmap_panel(
            "Patch duration heatmap",
            "Patches finished per duration bucket (ghost_patch_duration_seconds).",
            Query(
                "sum by (le) (increase(" + buckets + "[$__rate_interval]))",
                "{{le}}",
                format="heatmap",
            ),
            unit="s",
        ),
        width=12,
        height=8,
    )
    board.add(
        timeseries_panel(
            "Patches in flight",
            "Patches executing, by daemon (ghost_patches_in_flight).",
            [Query(selector("ghost_patches_in_flight", JOB, DAEMON), "{{daemon}}")],
            unit="short",
            steps=[(None, "green")],
            minimum=0,
            decimals=0,
        ),
        width=12,
        height=7,
    )
    board.add(
        timeseries_panel(
            "Daemon restarts",
            "Restarts of each daemon instance: changes of ghost_daemon_start_time_seconds; a "
            "restart also resets the daemon's counters.",
            [
                Query(
                    "changes("
                    + selector("ghost_daemon_start_time_seconds", JOB, DAEMON)
                    + "[$__rate_interval])",
                    "{{daemon}}",
                )
            ],
            unit="short",
            steps=[(None, "green"), (1, "orange")],
            bars=True,
            minimum=0,
            decimals=0,
        ),
        width=12,
        height=7,
    )
