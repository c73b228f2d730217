"""Medians and ranges of repeated benchmark runs, as Markdown tables to paste into the docs."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Run = dict[str, Any]
#: The en dash of ranges in the docs.
DASH = "\u2013"


@dataclass(frozen=True, slots=True)
class Spread:
    median: float
    low: float
    high: float
    count: int

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread:
        finite = [v for v in values if not math.isnan(v)]
        if not finite:
            return cls(math.nan, math.nan, math.nan, 0)
        return cls(statistics.median(finite), min(finite), max(finite), len(finite))

    def as_dict(self) -> dict[str, float]:
        return {"median": self.median, "min": self.low, "max": self.high, "runs": self.count}


@dataclass(frozen=True, slots=True)
class Figure:
    section: str
    name: str
    unit: str
    get: Callable[[Run], float]

    @property
    def label(self) -> str:
        return f"{self.name} ({self.unit})" if self.unit else self.name


def number(value: float) -> str:
    """Three significant digits, without an exponent for ordinary magnitudes."""
    if math.isnan(value):
        return DASH
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    digits = max(0, 2 - math.floor(math.log10(magnitude)))
    return f"{value:.{digits}f}"


def _row(rows: list[Run], key: str, value: Any) -> Run:
    for row in rows:
        if row.get(key) == value:
            return row
    raise KeyError(f"no row with {key}={value!r}")


def _pick(path: tuple[Any, ...]) -> Callable[[Run], float]:
    """A getter for ``run[a][b]...``; a ``(key, value)`` step picks the row of a list."""

    def get(run: Run) -> float:
        node: Any = run
        for step in path:
            if node is None:
                return math.nan
            node = _row(node, *step) if isinstance(step, tuple) else node.get(step)
        return math.nan if node is None else float(node)

    return get


def figures(side_targets: int, sizes: Iterable[int], shard_counts: Iterable[int]) -> list[Figure]:
    """Every figure the summary reports, in order."""
    out: list[Figure] = []
    side = f"side by side, {side_targets:,} targets, 1 s interval"
    for where, key in (("", "side_by_side"), (" (background load)", "side_by_side_loaded")):
        out += [
            Figure(side, f"ghost / blackbox CPU per probe{where}", "ratio", _pick((key, "ratio"))),
            Figure(
                side,
                f"blackbox_exporter CPU per probe{where}",
                "ms",
                _pick((key, "rows", ("exporter", "blackbox_exporter"), "cpu_ms_per_probe")),
            ),
            Figure(
                side,
                f"ghost-exporter CPU per probe{where}",
                "ms",
                _pick((key, "rows", ("exporter", "ghost-exporter"), "cpu_ms_per_probe")),
            ),
        ]
    out.append(
        Figure(
            side,
            "ghost-exporter (asyncio loop) CPU per probe",
            "ms",
            _pick(
                (
                    "side_by_side",
                    "rows",
                    ("exporter", "ghost-exporter (asyncio loop)"),
                    "cpu_ms_per_probe",
                )
            ),
        )
    )
    for n in sizes:
        scale = f"{n:,} targets, 15 s interval"
        row = ("exporter", ("targets", n))
        out += [
            Figure(scale, "probes per second", "/s", _pick((*row, "probes_per_second"))),
            Figure(scale, "CPU per probe", "ms", _pick((*row, "cpu_ms_per_probe"))),
            Figure(scale, "share of one core", "", _pick((*row, "cpu_share_of_one_core"))),
            Figure(scale, "scheduler lag p50", "ms", _pick((*row, "scheduler_lag_p50_ms"))),
            Figure(scale, "scheduler lag p99", "ms", _pick((*row, "scheduler_lag_p99_ms"))),
            Figure(scale, "RSS", "MB", _pick((*row, "rss_mb"))),
            Figure(scale, "/metrics plain: time", "ms", _pick((*row, "metrics_median_ms"))),
            Figure(scale, "/metrics plain: bytes sent", "MB", _pick((*row, "metrics_mb"))),
            Figure(scale, "/metrics plain: exporter CPU", "ms", _pick((*row, "metrics_cpu_ms"))),
            Figure(scale, "/metrics gzip: time", "ms", _pick((*row, "gzip_median_ms"))),
            Figure(scale, "/metrics gzip: bytes sent", "MB", _pick((*row, "gzip_mb"))),
            Figure(scale, "/metrics gzip: exporter CPU", "ms", _pick((*row, "gzip_cpu_ms"))),
        ]
    for count in shard_counts:
        out.append(
            Figure(
                "sharding 2,000 targets, 5 s interval",
                f"{count} exporter{'s' if count > 1 else ''}: CPU per probe, all together",
                "ms",
                _pick(("shards", ("exporters", count), "cpu_ms_per_probe")),
            )
        )
    render = "rendering 1,000 targets in process"
    out += [
        Figure(render, "cached exposition", "ms", _pick(("render", "render_median_ms"))),
        Figure(render, "generate_latest", "ms", _pick(("render", "generate_latest_median_ms"))),
        Figure(
            "event loop held by one scrape of 10,000 targets, in process",
            "plain, longest",
            "ms",
            _pick(("loop_hold", "plain_loop_hold_ms")),
        ),
        Figure(
            "event loop held by one scrape of 10,000 targets, in process",
            "gzip, longest",
            "ms",
            _pick(("loop_hold", "gzip_loop_hold_ms")),
        ),
    ]
    stress = "ghost-stress"
    out += [
        Figure(stress, "simulated patches", "/s", _pick(("stress", "simulated_patches_per_s"))),
        Figure(
            stress,
            "--command true vs xargs -P 16",
            "ratio",
            _pick(("stress", "command_vs_xargs_ratio")),
        ),
        Figure(
            stress, "/api/status p99, simulated", "ms", _pick(("stress", "simulated_status_p99_ms"))
        ),
    ]
    canaries = "100 pipelines at 15 s, a WebSocket and a REST observer each"
    out += [
        Figure(canaries, "CPU per canary round", "ms", _pick(("pipelines", "cpu_ms_per_round"))),
        Figure(canaries, "share of one core", "", _pick(("pipelines", "cpu_share_of_one_core"))),
        Figure(canaries, "open WebSocket connections", "", _pick(("pipelines", "open_websockets"))),
        Figure(canaries, "RSS", "MB", _pick(("pipelines", "rss_mb"))),
    ]
    return out


#: Per-probe counters compared between the side-by-side runs without ("quiet") and with the
#: background load ("loaded"); "quiet" only means no added load: the machine may be busy.
GROWTH = (
    ("cpu_ms_per_probe", "CPU ms"),
    ("user_ms_per_probe", "user CPU ms"),
    ("system_ms_per_probe", "system CPU ms"),
    ("wakeups_per_probe", "wake-ups (voluntary switches)"),
    ("preemptions_per_probe", "preemptions (involuntary switches)"),
    ("minor_faults_per_probe", "minor page faults"),
    ("gc_per_1000_probes", "GC collections per 1,000 probes"),
)


def summarise(
    runs: list[Run], side_targets: int, sizes: Iterable[int], shard_counts: Iterable[int]
) -> dict[str, Any]:
    """Median and range of every figure present in the runs, and the quiet/loaded comparison."""
    table: dict[str, dict[str, dict[str, float]]] = {}
    for figure in figures(side_targets, sizes, shard_counts):
        try:
            spread = Spread.of(figure.get(run) for run in runs)
        except KeyError:
            continue
        if spread.count:
            table.setdefault(figure.section, {})[figure.label] = spread.as_dict()
    growth: dict[str, dict[str, dict[str, float]]] = {}
    for exporter in ("ghost-exporter", "blackbox_exporter"):
        for key, label in GROWTH:
            quiet = _spread(runs, "side_by_side", exporter, key)
            loaded = _spread(runs, "side_by_side_loaded", exporter, key)
            if quiet.count and loaded.count:
                growth.setdefault(exporter, {})[label] = {
                    "quiet": quiet.median,
                    "loaded": loaded.median,
                    "factor": loaded.median / quiet.median if quiet.median else math.nan,
                }
    for label, key in (("calibration", "burst_us_per_unit"), ("calibration", "steady_us_per_unit")):
        quiet = Spread.of(r[label][key] for r in runs if label in r)
        loaded = Spread.of(r[f"{label}_loaded"][key] for r in runs if f"{label}_loaded" in r)
        if quiet.count and loaded.count:
            name = "fixed Python work, µs per unit, " + (
                "in bursts" if "burst" in key else "back to back"
            )
            growth.setdefault("fixed work (bench/contention.py)", {})[name] = {
                "quiet": quiet.median,
                "loaded": loaded.median,
                "factor": loaded.median / quiet.median,
            }
    return {"figures": table, "growth": growth}


def _spread(runs: list[Run], key: str, exporter: str, field: str) -> Spread:
    values = []
    for run in runs:
        if key not in run:
            continue
        try:
            values.append(float(_row(run[key]["rows"], "exporter", exporter).get(field, math.nan)))
        except KeyError:
            continue
    return Spread.of(values)


def markdown(summary: dict[str, Any], runs: int) -> str:
    """The summary as Markdown tables: median and range of ``runs`` runs."""
    lines = []
    for section, rows in summary["figures"].items():
        lines += ["", f"**{section}** (median, min{DASH}max of {runs} runs)", ""]
        lines += ["| figure | median | range |", "| --- | --- | --- |"]
        for name, s in rows.items():
            lines.append(
                f"| {name} | {number(s['median'])} | {number(s['min'])}{DASH}{number(s['max'])} |"
            )
    for exporter, rows in summary["growth"].items():
        lines += ["", f"**{exporter}, without and with the background load** (medians)", ""]
        lines += [
            f"| {'per probe' if exporter.endswith('exporter') else 'figure'} | no added load "
            "| background load | ratio |",
            "| --- | --- | --- | --- |",
        ]
        for name, g in rows.items():
            lines.append(
                f"| {name} | {number(g['quiet'])} | {number(g['loaded'])} | {number(g['factor'])} |"
            )
    return "\n".join(lines).lstrip("\n") + "\n"
