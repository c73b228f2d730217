"""prometheus_client views: the exporter's own registry, and a reference collector of targets.

The reference collector yields the same samples as the fast text exposition through
prometheus_client's own families; tests compare the two.
"""

from __future__ import annotations

import asyncio
import math
import platform
from collections.abc import Iterable, Iterator

from prometheus_client import (
    GC_COLLECTOR,
    CollectorRegistry,
    Gauge,
    Histogram,
    ProcessCollector,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ghost_exporter import __version__
from ghost_exporter.kinds import KINDS, TARGET_FAMILIES, target_samples
from ghost_exporter.metrics import EXPORTER_METRICS, SCHEDULER_LAG_BUCKETS
from ghost_exporter.samples import TargetState

_BY_NAME = {m.name: m for m in EXPORTER_METRICS}


class TargetCollector(Collector):
    """Yields every target family from the states given, as prometheus_client families."""

    def __init__(self, states: Iterable[TargetState]) -> None:
        self._states = list(states)

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for family in TARGET_FAMILIES:
            name = family.name.removesuffix("_total") if family.type == "counter" else family.name
            families[family.name] = Metric(name, family.help, family.type)
        for state in self._states:
            target = state.target
            own = {target.identity_label: target.name, **dict(target.labels)}
            for family, sample, extra, value in target_samples(state):
                families[family.name].add_sample(sample, {**own, **dict(extra)}, value)
        for metric in families.values():
            if metric.samples:
                yield metric


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
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry

        def helptext(name: str) -> str:
            return _BY_NAME[name].help

        build = Gauge(
            "ghost_exporter_build_info",
            helptext("ghost_exporter_build_info"),
            ["version", "python_version"],
            registry=reg,
        )
        build.labels(__version__, platform.python_version()).set(1)
        self.reload_ok = Gauge(
            "ghost_exporter_config_last_reload_successful",
            helptext("ghost_exporter_config_last_reload_successful"),
            registry=reg,
        )
        self.reload_time = Gauge(
            "ghost_exporter_config_last_reload_success_timestamp_seconds",
            helptext("ghost_exporter_config_last_reload_success_timestamp_seconds"),
            registry=reg,
        )
        self.targets = Gauge(
            "ghost_exporter_targets", helptext("ghost_exporter_targets"), ["kind"], registry=reg
        )
        self.scheduler_lag = Histogram(
            "ghost_exporter_scheduler_lag_seconds",
            helptext("ghost_exporter_scheduler_lag_seconds"),
            buckets=SCHEDULER_LAG_BUCKETS,
            registry=reg,
        )
        self.in_flight = Gauge(
            "ghost_exporter_probes_in_flight",
            helptext("ghost_exporter_probes_in_flight"),
            registry=reg,
        )
        self.tasks = Gauge(
            "ghost_exporter_asyncio_tasks",
            helptext("ghost_exporter_asyncio_tasks"),
            registry=reg,
        )
        self.tasks.set_function(_asyncio_tasks)
        ProcessCollector(registry=reg)
        reg.register(GC_COLLECTOR)

    def set_targets(self, kinds: Iterable[str]) -> None:
        counts: dict[str, int] = dict.fromkeys(KINDS, 0)
        for kind in kinds:
            counts[kind] += 1
        for kind, count in counts.items():
            self.targets.labels(kind).set(count)
