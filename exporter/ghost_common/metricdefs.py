"""Metric definitions as data, and the one function that builds a registry from them.

A program lists its metric families in one table of :class:`MetricDef` (name, type, help, labels,
buckets); the docs, the rule and dashboard checks read that table, and :func:`build_registry`
turns it into prometheus_client metrics in a registry of the program's own (never the global one).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

MetricType = Literal["gauge", "counter", "histogram"]

_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


@dataclass(frozen=True, slots=True)
class MetricDef:
    """One metric family.

    ``name`` is the family name as exposed (counters include ``_total``); ``labels`` lists the
    labels the program itself sets (the exporter adds a target's configured labels after them);
    ``buckets`` are a histogram's upper bounds when they are fixed (empty when they are not,
    e.g. mirrored from a daemon or derived from a pipeline's deadline).
    """

    name: str
    type: MetricType
    help: str
    labels: tuple[str, ...] = ()
    unit: str = ""
    example: str = ""
    buckets: tuple[float, ...] = ()

    @property
    def client_name(self) -> str:
        """The name prometheus_client takes: counters without ``_total`` (it adds it back)."""
        return self.name.removesuffix("_total") if self.type == "counter" else self.name

    def sample_names(self) -> Iterator[str]:
        """The names of the samples of this family, histogram suffixes included."""
        if self.type == "histogram":
            yield from (self.name + suffix for suffix in _HISTOGRAM_SUFFIXES)
        else:
            yield self.name


def sample_names(defs: Iterable[MetricDef]) -> frozenset[str]:
    """Every sample name the families can publish, histogram suffixes included."""
    return frozenset(name for metric in defs for name in metric.sample_names())


M = TypeVar("M", bound=MetricWrapperBase)


class MetricSet:
    """The metrics built from a table, by family name, in their own registry."""

    def __init__(self, registry: CollectorRegistry, metrics: dict[str, MetricWrapperBase]) -> None:
        self.registry = registry
        self.metrics = metrics

    def _get(self, name: str, kind: type[M]) -> M:
        metric = self.metrics[name]
        if not isinstance(metric, kind):
            raise TypeError(f"{name} is a {type(metric).__name__}, not a {kind.__name__}")
        return metric

    def counter(self, name: str) -> Counter:
        return self._get(name, Counter)

    def gauge(self, name: str) -> Gauge:
        return self._get(name, Gauge)

    def histogram(self, name: str) -> Histogram:
        return self._get(name, Histogram)


def build_registry(
    defs: Iterable[MetricDef], registry: CollectorRegistry | None = None
) -> MetricSet:
    """Register one prometheus_client metric per definition, in ``registry`` or a new one.

    A histogram needs its ``buckets``; a family name may appear once.
    """
    registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
    metrics: dict[str, MetricWrapperBase] = {}
    for metric in defs:
        if metric.name in metrics:
            raise ValueError(f"{metric.name} is defined twice")
        built: MetricWrapperBase
        if metric.type == "counter":
            built = Counter(metric.client_name, metric.help, metric.labels, registry=registry)
        elif metric.type == "gauge":
            built = Gauge(metric.client_name, metric.help, metric.labels, registry=registry)
        else:
            if not metric.buckets:
                raise ValueError(f"{metric.name} is a histogram without buckets")
            built = Histogram(
                metric.client_name,
                metric.help,
                metric.labels,
                buckets=metric.buckets,
                registry=registry,
            )
        metrics[metric.name] = built
    return MetricSet(registry, metrics)
