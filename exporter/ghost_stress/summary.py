"""The end-of-run summary: as JSON (``--json``) or as a rich table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from .accounting import Accounting
from .reporter import ReportCounts
from .stats import Counts, DurationSummary


@dataclass(frozen=True, slots=True)
class Summary:
    counts: Counts
    wall_seconds: float
    durations: DurationSummary
    reports: ReportCounts | None = None
    skipped: int | None = None

    @classmethod
    def collect(
        cls,
        accounting: Accounting,
        wall_seconds: float,
        *,
        reports: ReportCounts | None = None,
        skipped: int | None = None,
    ) -> Summary:
        return cls(accounting.counts(), wall_seconds, accounting.stats.summary(), reports, skipped)

    @property
    def success_rate(self) -> float:
        return self.counts.success_rate

    def to_json(self) -> dict[str, Any]:
        counts = self.counts
        body: dict[str, Any] = {
            "total": counts.finished,
            "completed": counts.completed,
            "failed": counts.failed,
            "timeout": counts.timeout,
            "success_rate": counts.success_rate,
            "wall_seconds": self.wall_seconds,
            "duration_seconds": dict(self.durations),
        }
        if self.reports is not None:
            body["reports"] = dict(self.reports)
        return body

    def table(self) -> Table:
        counts = self.counts
        table = Table(title="ghost-stress summary", show_header=False, title_justify="left")
        table.add_column("what", style="bold")
        table.add_column("value", justify="right")
        table.add_row("total", str(counts.finished))
        table.add_row("completed", f"[green]{counts.completed}[/]")
        table.add_row("failed", f"[red]{counts.failed}[/]" if counts.failed else "0")
        table.add_row("timeout", f"[yellow]{counts.timeout}[/]" if counts.timeout else "0")
        if counts.in_flight:
            table.add_row("still in flight", str(counts.in_flight))
        if self.skipped is not None:
            table.add_row("skipped (at capacity)", str(self.skipped))
        table.add_row("success rate", f"{counts.success_rate:.2%}")
        table.add_row("wall time", _seconds(self.wall_seconds))
        if self.wall_seconds > 0:
            table.add_row("throughput", f"{counts.finished / self.wall_seconds:,.1f} patches/s")
        durations = self.durations
        table.add_row("duration mean", _seconds(durations["mean"]))
        table.add_row("duration p50", _seconds(durations["p50"]))
        table.add_row("duration p95", _seconds(durations["p95"]))
        table.add_row("duration max", _seconds(durations["max"]))
        if self.reports is not None:
            reports = self.reports
            table.add_row(
                "reports sent / failed / dropped",
                f"{reports['sent']} / {reports['failed']} / {reports['dropped']}",
            )
        return table

    def print_table(self, console: Console) -> None:
        console.print(self.table())


def _seconds(value: float) -> str:
    if value < 1.0:
        return f"{value * 1000:.1f} ms"
    return f"{value:.3f} s"
