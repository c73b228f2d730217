"""Metric definitions as data: build_registry, and the registries of the programs built with it."""

from __future__ import annotations

import math
from collections.abc import Iterable

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ghost_common.metricdefs import MetricDef, build_registry, sample_names
from ghost_exporter.metrics import (
    EXPORTER_METRICS,
    PROBE_DURATION_BUCKETS,
    SCHEDULER_LAG_BUCKETS,
    SERVICE_METRICS,
)
from ghost_exporter.selfmetrics import ExporterMetrics
from ghost_remediate.metrics import DURATION_BUCKETS, REMEDIATION_METRICS, Metrics

Family = tuple[str, str, frozenset[str], tuple[float, ...]]


def _exposed(registry: CollectorRegistry) -> dict[str, Family]:
    """name -> (type, help, label names, bucket bounds) as a scrape of the registry reads them."""
    families: dict[str, Family] = {}
    text = generate_latest(registry).decode()
    for family in text_string_to_metric_families(text):
        if family.name.endswith("_created"):
            continue  # the creation time prometheus_client adds to counters and histograms
        name = family.name + "_total" if family.type == "counter" else family.name
        labels = frozenset(
            label for sample in family.samples for label in sample.labels if label != "le"
        )
        bounds = tuple(
            sorted({float(s.labels["le"]) for s in family.samples if s.name.endswith("_bucket")})
        )
        families[name] = (family.type, family.documentation, labels, bounds)
    return families


def _expected(defs: Iterable[MetricDef]) -> dict[str, Family]:
    return {
        m.name: (
            m.type,
            m.help,
            frozenset(m.labels),
            (*m.buckets, math.inf) if m.type == "histogram" else (),
        )
        for m in defs
    }


def test_build_registry_registers_each_definition_as_written() -> None:
    defs = (
        MetricDef("demo_requests_total", "counter", "Requests by code.", ("code",)),
        MetricDef("demo_queue_length", "gauge", "Items queued."),
        MetricDef("demo_wait_seconds", "histogram", "Time waited.", ("queue",), buckets=(0.1, 1.0)),
    )
    metrics = build_registry(defs)
    metrics.counter("demo_requests_total").labels("200").inc(3)
    metrics.gauge("demo_queue_length").set(7)
    metrics.histogram("demo_wait_seconds").labels("q").observe(0.5)

    assert _exposed(metrics.registry) == _expected(defs)
    registry = metrics.registry
    assert registry.get_sample_value("demo_requests_total", {"code": "200"}) == 3
    assert registry.get_sample_value("demo_queue_length") == 7
    assert registry.get_sample_value("demo_wait_seconds_bucket", {"queue": "q", "le": "0.1"}) == 0
    assert registry.get_sample_value("demo_wait_seconds_bucket", {"queue": "q", "le": "1.0"}) == 1


def test_build_registry_uses_the_registry_given() -> None:
    registry = CollectorRegistry()
    metrics = build_registry([MetricDef("demo_up", "gauge", "Up.")], registry)
    metrics.gauge("demo_up").set(1)
    assert metrics.registry is registry
    assert registry.get_sample_value("demo_up") == 1


def test_build_registry_refuses_a_name_twice_and_a_histogram_without_buckets() -> None:
    with pytest.raises(ValueError, match="demo_up is defined twice"):
        build_registry([MetricDef("demo_up", "gauge", "Up."), MetricDef("demo_up", "gauge", "")])
    with pytest.raises(ValueError, match="demo_seconds is a histogram without buckets"):
        build_registry([MetricDef("demo_seconds", "histogram", "Time.")])


def test_a_metric_is_taken_as_the_kind_it_was_defined() -> None:
    metrics = build_registry([MetricDef("demo_up", "gauge", "Up.")])
    with pytest.raises(TypeError, match="demo_up is a Gauge, not a Counter"):
        metrics.counter("demo_up")
    with pytest.raises(KeyError):
        metrics.gauge("demo_down")


def test_sample_names_add_the_histogram_suffixes() -> None:
    defs = [
        MetricDef("demo_total", "counter", ""),
        MetricDef("demo_seconds", "histogram", "", buckets=(1.0,)),
    ]
    assert sample_names(defs) == {
        "demo_total",
        "demo_seconds_bucket",
        "demo_seconds_sum",
        "demo_seconds_count",
    }


def test_the_exporters_own_registry_is_its_table() -> None:
    metrics = ExporterMetrics()
    metrics.set_targets(["http"])
    metrics.scheduler_lag.observe(0.002)
    exposed = _exposed(metrics.registry)
    own = {name: family for name, family in exposed.items() if name.startswith("ghost_")}
    assert own == _expected(EXPORTER_METRICS)
    # Beside the table: the process and garbage-collector collectors, and nothing else.
    assert {name.split("_")[0] for name in exposed.keys() - own.keys()} == {"process", "python"}


def test_the_bucket_tables_are_the_definitions_buckets() -> None:
    by_name = {m.name: m for m in SERVICE_METRICS + EXPORTER_METRICS + REMEDIATION_METRICS}
    assert by_name["ghost_probe_duration_seconds"].buckets == PROBE_DURATION_BUCKETS
    assert by_name["ghost_exporter_scheduler_lag_seconds"].buckets == SCHEDULER_LAG_BUCKETS
    assert by_name["ghost_remediation_duration_seconds"].buckets == DURATION_BUCKETS


def test_ghost_remediates_registry_is_its_table() -> None:
    metrics = Metrics()
    metrics.count("web", "restart", "succeeded")
    metrics.observe("web", "restart", "succeeded", 0.3)
    assert _exposed(metrics.registry) == _expected(REMEDIATION_METRICS)
    assert (
        metrics.registry.get_sample_value(
            "ghost_remediations_total",
            {"service": "web", "action": "restart", "result": "succeeded"},
        )
        == 1
    )
