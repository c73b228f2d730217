"""``ghost-exporter check``: probe every target once, concurrently, and print a table.

Services and daemons are probed first, with every pipeline's round running meanwhile; then each
reporter is read once and its claims are compared with the states this run observed. With
``--sync-log`` one line per run records whether the monitors were in sync.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

from rich.console import Console
from rich.table import Table

from ghost_exporter.agreement import observed_state
from ghost_exporter.config import Config, Target
from ghost_exporter.kinds.pipeline import Pipeline, round_outcomes
from ghost_exporter.probes import Health, ProbeContext, ProbeResult
from ghost_exporter.probes.timeout import run_probe

_SYNC_KINDS = frozenset({"reporter", "pipeline"})


@dataclass(slots=True)
class Row:
    target: Target
    result: ProbeResult
    #: Reporter: services it disagrees on, with the claim and what this run saw.
    out_of_sync: list[tuple[str, Health, Health]] = field(default_factory=list)
    only_reporter: list[str] = field(default_factory=list)
    only_exporter: list[str] = field(default_factory=list)


async def probe_all(config: Config) -> list[Row]:
    """One probe of every target; reporters after the services they are compared with."""
    ctx = ProbeContext()
    plain = [t for t in config.targets if t.kind not in _SYNC_KINDS]
    reporters = [t for t in config.targets if t.kind == "reporter"]
    pipelines = [t for t in config.targets if t.kind == "pipeline"]
    try:
        rounds = asyncio.gather(*(run_probe(t, ctx) for t in pipelines))
        plain_results = await asyncio.gather(*(run_probe(t, ctx) for t in plain))
        reads = await asyncio.gather(*(run_probe(t, ctx) for t in reporters))
        round_results = await rounds
    finally:
        await ctx.close()
    observed = {
        t.name: observed_state(r) for t, r in zip(plain, plain_results, strict=True) if t.is_service
    }
    rows = [Row(t, r) for t, r in zip(plain, plain_results, strict=True)]
    for target, result in zip(reporters, reads, strict=True):
        rows.append(_compare(Row(target, result), observed))
    rows += [Row(t, r) for t, r in zip(pipelines, round_results, strict=True)]
    return rows


def _compare(row: Row, observed: dict[str, Health]) -> Row:
    claims = row.result.claims if row.result.success else None
    if claims is None:
        return row
    for name in sorted(claims):
        if name not in observed:
            row.only_reporter.append(name)
        elif claims[name] != observed[name]:
            row.out_of_sync.append((name, claims[name], observed[name]))
    row.only_exporter = sorted(n for n in observed if n not in claims)
    return row


def healthy(result: ProbeResult) -> bool:
    return result.success and result.health == Health.HEALTHY


def row_ok(row: Row) -> bool:
    if row.target.kind == "reporter":
        return row.result.success and not row.out_of_sync
    return healthy(row.result)


def _delivery(row: Row) -> str:
    canary = row.result.canary
    spec = row.target.spec
    if canary is None or not isinstance(spec, Pipeline):
        return ""
    parts = []
    for name, kind in round_outcomes(canary, spec.deadline).items():
        seconds = canary.seen.get(name)
        timing = f" {seconds * 1000:.0f} ms" if seconds is not None else ""
        note = canary.notes.get(name) if kind == "lost" else None
        parts.append(f"{name}: {kind}{timing}" + (f" ({note})" if note else ""))
    return ", ".join(parts)


def _cells(row: Row) -> tuple[str, str, str]:
    """(up, health, detail) of a row."""
    result = row.result
    failure = f"{result.reason.value}: {result.message}" if result.reason else ""
    if row.target.kind == "reporter":
        if not result.success:
            return "NO", "", failure
        notes = [f"{n} claims {c.value}, probe saw {o.value}" for n, c, o in row.out_of_sync]
        if row.only_reporter:
            notes.append("not probed: " + ", ".join(row.only_reporter))
        if row.only_exporter:
            notes.append("not listed: " + ", ".join(row.only_exporter))
        return "yes", "OUT OF SYNC" if row.out_of_sync else "in sync", "; ".join(notes)
    if row.target.kind == "pipeline":
        canary = result.canary
        if canary is None or not canary.emitted:
            return "NO", "", failure
        return (
            "yes" if result.success else "NO",
            "delivered" if result.success else "",
            (_delivery(row)),
        )
    return "yes" if result.success else "NO", result.health.value, failure


def print_table(rows: list[Row], out: TextIO = sys.stdout) -> None:
    table = Table(title=None, show_lines=False)
    for column in ("target", "kind", "up", "health", "latency", "failure"):
        table.add_column(column, justify="right" if column == "latency" else "left")
    for row in rows:
        up, health, detail = _cells(row)
        table.add_row(
            row.target.name,
            row.target.kind,
            up,
            health,
            f"{row.result.duration * 1000:.1f} ms",
            detail,
        )
    Console(file=out, width=160, soft_wrap=True).print(table)


def sync_line(rows: list[Row], now: float | None = None) -> str:
    """``<UTC time> SYNC SUCCESS services=N reporters=N pipelines=N``, or ``SYNC FAILURE`` with
    what failed: ``out_of_sync=REPORTER/SERVICE``, ``reporter_down=REPORTER``,
    ``late=PIPELINE/OBSERVER``, ``lost=PIPELINE/OBSERVER``, ``emit_failed=PIPELINE``."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if now is None else now))
    kinds = [r.target for r in rows]
    counts = (
        f"services={sum(1 for t in kinds if t.is_service)} "
        f"reporters={sum(1 for t in kinds if t.kind == 'reporter')} "
        f"pipelines={sum(1 for t in kinds if t.kind == 'pipeline')}"
    )
    failed: dict[str, list[str]] = {
        "out_of_sync": [],
        "reporter_down": [],
        "late": [],
        "lost": [],
        "emit_failed": [],
    }
    for row in rows:
        name = row.target.name
        if row.target.kind == "reporter":
            if not row.result.success:
                failed["reporter_down"].append(name)
            failed["out_of_sync"] += [f"{name}/{service}" for service, _, _ in row.out_of_sync]
        elif isinstance(row.target.spec, Pipeline):
            canary = row.result.canary
            if canary is None or not canary.emitted:
                failed["emit_failed"].append(name)
                continue
            for observer, kind in round_outcomes(canary, row.target.spec.deadline).items():
                if kind != "delivered":
                    failed[kind].append(f"{name}/{observer}")
    tokens = [f"{key}={','.join(values)}" for key, values in failed.items() if values]
    verdict = "SYNC FAILURE" if tokens else "SYNC SUCCESS"
    return " ".join([stamp, verdict, counts, *tokens])


def run_check(config: Config, out: TextIO = sys.stdout, sync_log: str | None = None) -> int:
    """Exit status: 0 when every target is up and healthy, every reporter agrees and every
    canary was delivered in time, else 1; 2 when the sync log cannot be written."""
    rows = asyncio.run(probe_all(config))
    print_table(rows, out)
    line = sync_line(rows)
    if sync_log is not None:
        try:
            with open(sync_log, "a", encoding="utf-8") as log:
                log.write(line + "\n")
        except OSError as exc:
            print(f"cannot write the sync log {sync_log}: {exc.strerror}", file=sys.stderr)
            return 2
    if rows and any(r.target.kind in _SYNC_KINDS for r in rows):
        print(line.split(" ", 1)[1], file=out)
    return 0 if all(row_ok(r) for r in rows) else 1
