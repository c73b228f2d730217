"""``ghost-exporter check``: probe every target once, concurrently, and print a table."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from rich.console import Console
from rich.table import Table

from ghost_exporter.config import Config, Target
from ghost_exporter.probes import Health, ProbeContext, ProbeResult
from ghost_exporter.runner import run_probe


async def probe_all(config: Config) -> list[tuple[Target, ProbeResult]]:
    ctx = ProbeContext()
    try:
        results = await asyncio.gather(*(run_probe(t, ctx) for t in config.targets))
    finally:
        await ctx.close()
    return list(zip(config.targets, results, strict=True))


def healthy(result: ProbeResult) -> bool:
    return result.success and result.health == Health.HEALTHY


def print_table(rows: list[tuple[Target, ProbeResult]], out: TextIO = sys.stdout) -> None:
    table = Table(title=None, show_lines=False)
    for column in ("service", "kind", "up", "health", "latency", "failure"):
        table.add_column(column, justify="right" if column == "latency" else "left")
    for target, result in rows:
        table.add_row(
            target.name,
            target.kind,
            "yes" if result.success else "NO",
            result.health.value,
            f"{result.duration * 1000:.1f} ms",
            f"{result.reason.value}: {result.message}" if result.reason else "",
        )
    Console(file=out, width=160, soft_wrap=True).print(table)


def run_check(config: Config, out: TextIO = sys.stdout) -> int:
    """Exit status: 0 when every target is up and healthy, else 1."""
    rows = asyncio.run(probe_all(config))
    print_table(rows, out)
    return 0 if all(healthy(r) for _, r in rows) else 1
