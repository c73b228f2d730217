"""The end-of-run summary: as JSON (``--json``, described by ``summary.schema.json``) or a table."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from rich.console import Console
from rich.table import Table

from .errors import ErrorClass
from .reporter import ReportCounts
from .stats import Counts, DurationSummary
from .thresholds import ThresholdResult

#: Version of the ``--json`` document; bumped when a key changes meaning or goes away.
SCHEMA_VERSION = 1


def load_schema() -> dict[str, Any]:
    """The JSON Schema (Draft 2020-12) of the ``--json`` summary, shipped with the package."""
    text = resources.files(__package__).joinpath("summary.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


@dataclass(frozen=True, slots=True)
class Summary:
    counts: Counts
    wall_seconds: float
    durations: DurationSummary
    reports: ReportCounts | None = None
    skipped: int | None = None
    mode: str = "run"
    #: patches a run planned (None in daemon mode)
    planned: int | None = None
    #: the seed of simulated patches (None for --command)
    seed: int | None = None
    errors: list[ErrorClass] = field(default_factory=list)
    #: patches that needed more than one attempt, those of them that completed, all attempts
    retried: int = 0
    recovered: int = 0
    attempts: int = 0
    thresholds: list[ThresholdResult] = field(default_factory=list)
    #: the threshold expression that stopped the run early (--abort-on-threshold)
    aborted_by: str | None = None

    @property
    def success_rate(self) -> float:
        return self.counts.success_rate

    @property
    def failure_rate(self) -> float:
        finished = self.counts.finished
        return self.counts.failed / finished if finished else 0.0

    @property
    def timeout_rate(self) -> float:
        finished = self.counts.finished
        return self.counts.timeout / finished if finished else 0.0

    @property
    def throughput(self) -> float:
        """Finished patches per second of wall time (0 before any time has passed)."""
        return self.counts.finished / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def breached(self) -> bool:
        return not all(result["passed"] for result in self.thresholds)

    def to_json(self) -> dict[str, Any]:
        counts = self.counts
        body: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "mode": self.mode,
            "planned": self.planned,
            "total": counts.finished,
            "completed": counts.completed,
            "failed": counts.failed,
            "timeout": counts.timeout,
            "success_rate": counts.success_rate,
            "failure_rate": self.failure_rate,
            "timeout_rate": self.timeout_rate,
            "wall_seconds": self.wall_seconds,
            "throughput": self.throughput,
            "duration_seconds": dict(self.durations),
            "seed": self.seed,
            "skipped": self.skipped,
            "errors": [dict(entry) for entry in self.errors],
            "retries": {
                "patches": self.retried,
                "recovered": self.recovered,
                "attempts": self.attempts,
            },
            "thresholds": [dict(result) for result in self.thresholds],
            "aborted": None if self.aborted_by is None else {"threshold": self.aborted_by},
        }
        if self.reports is not None:
            body["reports"] = dict(self.reports)
        return body

    def table(self) -> Table:
        counts = self.counts
        table = Table(title="ghost-stress summary", show_header=False, title_justify="left")
        table.add_column("what", style="bold")
        table.add_column("value", justify="right")
        if self.planned is not None and self.planned != counts.finished:
            table.add_row("planned", str(self.planned))
        table.add_row("total", str(counts.finished))
        table.add_row("completed", f"[green]{counts.completed}[/]")
        table.add_row("failed", f"[red]{counts.failed}[/]" if counts.failed else "0")
        table.add_row("timeout", f"[yellow]{counts.timeout}[/]" if counts.timeout else "0")
        if counts.in_flight:
            table.add_row("still in flight", str(counts.in_flight))
        if self.skipped is not None:
            table.add_row("skipped (at capacity)", str(self.skipped))
        if self.retried:
            table.add_row(
                "retried / recovered", f"{self.retried} / {self.recovered} ({self.attempts} runs)"
            )
        table.add_row("success rate", f"{counts.success_rate:.2%}")
        table.add_row("wall time", _seconds(self.wall_seconds))
        if self.wall_seconds > 0:
            table.add_row("throughput", f"{self.throughput:,.1f} patches/s")
        durations = self.durations
        table.add_row(
            "duration mean ± stddev",
            f"{_seconds(durations['mean'])} ± {_seconds(durations['stddev'])}",
        )
        for key in ("min", "p50", "p90", "p95", "p99", "max"):
            table.add_row(f"duration {key}", _seconds(durations[key]))
        if self.seed is not None:
            table.add_row("seed", str(self.seed))
        for entry in self.errors:
            table.add_row(
                f"error: {entry['cause']}", f"{entry['count']}  [dim]{entry['example']}[/]"
            )
        if self.reports is not None:
            reports = self.reports
            table.add_row(
                "reports sent / failed / dropped",
                f"{reports['sent']} / {reports['failed']} / {reports['dropped']}",
            )
        for result in self.thresholds:
            verdict = "[green]pass[/]" if result["passed"] else "[red]FAIL[/]"
            table.add_row(
                f"threshold {result['expression']}",
                f"{_measured(result['metric'], result['measured'])}  {verdict}",
            )
        if self.aborted_by is not None:
            table.add_row("aborted", f"[red]by threshold {self.aborted_by}[/]")
        return table

    def print_table(self, console: Console) -> None:
        console.print(self.table())


def measured(summary: Summary) -> dict[str, float]:
    """Every threshold metric's value in ``summary``."""
    return {
        "success_rate": summary.success_rate,
        "failure_rate": summary.failure_rate,
        "timeout_rate": summary.timeout_rate,
        **duration_metrics(summary.durations, summary.throughput),
    }


def duration_metrics(durations: DurationSummary, throughput: float) -> dict[str, float]:
    """The duration and throughput threshold metrics."""
    return {
        "mean": durations["mean"],
        "p50": durations["p50"],
        "p90": durations["p90"],
        "p95": durations["p95"],
        "p99": durations["p99"],
        "max": durations["max"],
        "throughput": throughput,
    }


def _measured(metric: str, value: float) -> str:
    if metric.endswith("_rate"):
        return f"{value:.2%}"
    if metric == "throughput":
        return f"{value:,.1f}/s"
    return _seconds(value)


def _seconds(value: float) -> str:
    if value < 1.0:
        return f"{value * 1000:.1f} ms"
    return f"{value:.3f} s"
