"""The exporter's own metrics (build, reloads, targets, scheduler lag, probes in flight, tasks).

They are built from ``EXPORTER_METRICS`` of the metrics table into the exporter's own registry
(never the global one), with the process and garbage-collector collectors beside them.
"""

from __future__ import annotations

import asyncio
import math
import platform
from collections.abc import Iterable

from prometheus_client import GC_COLLECTOR, ProcessCollector

from ghost_common.metricdefs import build_registry
from ghost_exporter import __version__
from ghost_exporter.kinds import KINDS
from ghost_exporter.metrics import EXPORTER_METRICS


def _asyncio_tasks() -> float:
    """Tasks of the running loop (scrapes run in it); NaN when read outside of a loop."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return math.nan
    return float(len(asyncio.all_tasks(loop)))


class ExporterMetrics:
    """The exporter's own metrics in its own registry (never the global one)."""

    def __init__(self) -> None:
        metrics = build_registry(EXPORTER_METRICS)
        self.registry = metrics.registry
        metrics.gauge("ghost_exporter_build_info").labels(
            __version__, platform.python_version()
        ).set(1)
        self.reload_ok = metrics.gauge("ghost_exporter_config_last_reload_successful")
        self.reload_time = metrics.gauge(
            "ghost_exporter_config_last_reload_success_timestamp_seconds"
        )
        self.targets = metrics.gauge("ghost_exporter_targets")
        self.scheduler_lag = metrics.histogram("ghost_exporter_scheduler_lag_seconds")
        self.in_flight = metrics.gauge("ghost_exporter_probes_in_flight")
        self.tasks = metrics.gauge("ghost_exporter_asyncio_tasks")
        self.tasks.set_function(_asyncio_tasks)
        ProcessCollector(registry=self.registry)
        self.registry.register(GC_COLLECTOR)

    def set_targets(self, kinds: Iterable[str]) -> None:
        counts: dict[str, int] = dict.fromkeys(KINDS, 0)
        for kind in kinds:
            counts[kind] += 1
        for kind, count in counts.items():
            self.targets.labels(kind).set(count)
