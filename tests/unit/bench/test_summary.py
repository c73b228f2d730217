"""The bench summary: medians and ranges over repeated runs, and the quiet/loaded comparison."""

from __future__ import annotations

import math
from typing import Any

from bench.summary import Spread, markdown, number, summarise


def _run(ratio: float, ghost: float, loaded_ghost: float, lag: float) -> dict[str, Any]:
    def side(ghost_ms: float, blackbox_ms: float) -> dict[str, Any]:
        return {
            "ratio": ghost_ms / blackbox_ms,
            "rows": [
                {"exporter": "blackbox_exporter", "cpu_ms_per_probe": blackbox_ms},
                {
                    "exporter": "ghost-exporter",
                    "cpu_ms_per_probe": ghost_ms,
                    "wakeups_per_probe": 2,
                },
            ],
        }

    return {
        "side_by_side": side(ghost, ghost / ratio),
        "side_by_side_loaded": side(loaded_ghost, 1.5),
        "exporter": [
            {"targets": 1000, "scheduler_lag_p99_ms": lag, "gzip_mb": 0.25},
            {"targets": 10_000, "scheduler_lag_p99_ms": 10 * lag, "gzip_mb": 2.5},
        ],
    }


def test_spread_is_median_and_range_ignoring_nan() -> None:
    assert Spread.of([3.0, 1.0, 2.0, math.nan]) == Spread(2.0, 1.0, 3.0, 3)
    assert Spread.of([math.nan]).count == 0


def test_number_keeps_three_significant_digits() -> None:
    assert [number(v) for v in (0.2134, 1.306, 82.44, 667.2, 178901.0, 0.0)] == [
        "0.213",
        "1.31",
        "82.4",
        "667",
        "178,901",
        "0",
    ]
    assert number(math.nan) == "\u2013"


def test_summary_of_three_runs() -> None:
    runs = [_run(0.21, 0.27, 0.6, 90.0), _run(0.26, 0.30, 0.7, 80.0), _run(0.20, 0.25, 0.5, 120.0)]
    summary = summarise(runs, 200, (1000, 10_000), (1, 2, 4))
    side = summary["figures"]["side by side, 200 targets, 1 s interval"]
    ratio = side["ghost / blackbox CPU per probe (ratio)"]
    assert (ratio["median"], ratio["min"], ratio["max"], ratio["runs"]) == (0.21, 0.20, 0.26, 3)
    lag = summary["figures"]["10,000 targets, 15 s interval"]["scheduler lag p99 (ms)"]
    assert (lag["median"], lag["min"], lag["max"]) == (900.0, 800.0, 1200.0)
    # Figures no run measured are left out rather than reported as zero.
    assert "sharding 2,000 targets, 5 s interval" not in summary["figures"]
    growth = summary["growth"]["ghost-exporter"]["CPU ms"]
    assert (growth["quiet"], growth["loaded"]) == (0.27, 0.6)
    assert math.isclose(growth["factor"], 0.6 / 0.27)
    text = markdown(summary, 3)
    assert "| ghost / blackbox CPU per probe (ratio) | 0.210 | 0.200\u20130.260 |" in text
    assert "| /metrics gzip: bytes sent (MB) | 2.50 | 2.50\u20132.50 |" in text
