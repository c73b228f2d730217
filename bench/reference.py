"""The reference collector of targets: the fast exposition's samples, as prometheus_client families.

``TargetCollector`` yields every target family from the states given through prometheus_client's
own ``Metric`` objects, so that ``generate_latest`` renders what ``ResultStore.text()`` renders by
hand. The bench times the two against each other (bench/exporter.py) and the tests compare their
output (tests/unit/exporter/test_exposition.py and others). The exporter itself never uses it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ghost_exporter.kinds import TARGET_FAMILIES, target_samples
from ghost_exporter.samples import TargetState


class TargetCollector(Collector):
    """Yields every target family from the states given, as prometheus_client families."""

    def __init__(self, states: Iterable[TargetState]) -> None:
        self._states = list(states)

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for family in TARGET_FAMILIES:
            families[family.name] = Metric(family.client_name, family.help, family.type)
        for state in self._states:
            target = state.target
            own = {target.identity_label: target.name, **dict(target.labels)}
            for family, sample, extra, value in target_samples(state):
                families[family.name].add_sample(sample, {**own, **dict(extra)}, value)
        for metric in families.values():
            if metric.samples:
                yield metric
