"""The fast text exposition reads back to exactly what prometheus_client itself writes."""

from __future__ import annotations

import dataclasses
import math

import pytest
from bench.reference import TargetCollector
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ghost_exporter.config import Config, parse_config
from ghost_exporter.exposition import choose_encoding
from ghost_exporter.probes import DaemonStatus, FailureReason, Health, ProbeResult
from ghost_exporter.store import ResultStore

CONFIG = """\
services:
  - name: web
    labels: {tier: "core \\"quoted\\" \\\\ back\\nslash"}
    retries: 2
    http:
      url: "http://127.0.0.1:1/"
      assertions: [{name: q, cel: "body.q < 1"}, {name: r, cel: "body.r", on_fail: degrade}]
  - name: feed
    websocket: {url: "ws://127.0.0.1:1/ws", timestamp_field: ts}
  - name: port
    tcp: {address: "127.0.0.1:1"}
daemons:
  - name: stress
    url: http://127.0.0.1:1
"""


def _samples(text: str) -> set[tuple[str, tuple[tuple[str, str], ...], str]]:
    out = set()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            value = "NaN" if math.isnan(sample.value) else repr(sample.value)
            out.add((sample.name, tuple(sorted(sample.labels.items())), value))
    return out


def _types(text: str) -> dict[str, str]:
    return {f.name: f.type for f in text_string_to_metric_families(text)}


def _reference(store: ResultStore) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TargetCollector(store.states()))
    return generate_latest(registry).decode()


def _http_result(duration: float, success: bool = True) -> ProbeResult:
    result = ProbeResult(started=1_700_000_000.5)
    result.duration = duration
    result.status_code = 200 if success else 503
    result.phases = {"resolve": 0.0, "connect": 0.00012, "processing": 1e-7, "transfer": 3.5}
    result.cert_expiry = 1_800_000_000.0
    result.attempts = 1 if success else 3
    result.assertions = {"q": success, "r": True}
    if success:
        result.health = Health.DEGRADED
        result.succeed()
    else:
        result.fail(FailureReason.STATUS, "status 503")
    return result


def _daemon_result() -> ProbeResult:
    result = ProbeResult()
    result.duration = 0.01
    result.daemon = DaemonStatus(
        instance_id="abc",
        started_at=1_732_400_000.25,
        completed=9,
        failed=1,
        timeout=0,
        in_flight=2,
        buckets=((0.1, 0), (0.5, 3), (1.0, 10), (math.inf, 10)),
        duration_sum=6.487,
        duration_count=10,
    )
    result.health = Health.HEALTHY
    result.succeed()
    return result


def _filled_store(config: Config) -> ResultStore:
    store = ResultStore()
    store.sync(config.targets)
    by_name = config.by_name
    store.record(by_name["web"], _http_result(0.0123))
    store.record(by_name["web"], _http_result(12.0, success=False))
    ws = ProbeResult()
    ws.duration = 0.002
    ws.message_lag = 0.25
    ws.phases = {"connect": 0.001, "first_message": 0.0005}
    ws.health = Health.HEALTHY
    ws.succeed()
    store.record(by_name["feed"], ws)
    store.record(by_name["stress"], _daemon_result())
    return store


def test_fast_text_equals_prometheus_client_output() -> None:
    store = _filled_store(parse_config(CONFIG))
    fast = store.text()
    reference = _reference(store)
    assert _samples(fast) == _samples(reference)
    assert _types(fast) == _types(reference)
    assert 'tier="core \\"quoted\\" \\\\ back\\nslash"' in fast


def test_target_without_result_publishes_nothing() -> None:
    store = _filled_store(parse_config(CONFIG))
    assert 'service="port"' not in store.text()


def _l(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def test_samples_reflect_results() -> None:
    store = _filled_store(parse_config(CONFIG))
    samples = _samples(store.text())
    tier = 'core "quoted" \\ back\nslash'
    web = _l(service="web", tier=tier)
    assert ("ghost_service_up", web, "0.0") in samples
    assert ("ghost_probes_total", web, "2.0") in samples
    assert (
        "ghost_probe_failures_total",
        _l(service="web", tier=tier, reason="status"),
        "1.0",
    ) in samples
    assert ("ghost_probe_duration_seconds_count", web, "2.0") in samples
    assert ("ghost_probe_attempts_total", web, "4.0") in samples
    assert (
        "ghost_probe_assertion_ok",
        _l(service="web", tier=tier, assertion="q"),
        "0.0",
    ) in samples
    assert (
        "ghost_probe_assertion_ok",
        _l(service="web", tier=tier, assertion="r"),
        "1.0",
    ) in samples
    assert ("ghost_probe_attempts_total", _l(service="feed"), "1.0") in samples
    bucket = "ghost_probe_duration_seconds_bucket"
    assert (bucket, _l(service="web", tier=tier, le="0.025"), "1.0") in samples
    assert (bucket, _l(service="web", tier=tier, le="+Inf"), "2.0") in samples
    assert ("ghost_probe_http_status_code", web, "503.0") in samples
    assert ("ghost_service_health", _l(service="web", tier=tier, state="unknown"), "1.0") in samples
    assert ("ghost_service_health", _l(service="web", tier=tier, state="healthy"), "0.0") in samples
    assert ("ghost_websocket_message_lag_seconds", _l(service="feed"), "0.25") in samples
    assert ("ghost_service_health", _l(service="feed", state="healthy"), "1.0") in samples
    assert ("ghost_daemon_up", _l(daemon="stress"), "1.0") in samples
    assert ("ghost_patches_total", _l(daemon="stress", outcome="failed"), "1.0") in samples
    assert ("ghost_patches_in_flight", _l(daemon="stress"), "2.0") in samples
    assert ("ghost_patch_duration_seconds_bucket", _l(daemon="stress", le="0.5"), "3.0") in samples
    assert ("ghost_patch_duration_seconds_sum", _l(daemon="stress"), "6.487") in samples
    assert ("ghost_daemon_start_time_seconds", _l(daemon="stress"), "1732400000.25") in samples


def test_failed_daemon_publishes_only_up() -> None:
    config = parse_config(CONFIG)
    store = ResultStore()
    store.sync(config.targets)
    bad = ProbeResult()
    bad.fail(FailureReason.PROTOCOL, "counts went negative")
    store.record(config.by_name["stress"], bad)
    assert _samples(store.text()) == {("ghost_daemon_up", (("daemon", "stress"),), "0.0")}


def test_reload_removes_series_and_keeps_counters() -> None:
    config = parse_config(CONFIG)
    store = _filled_store(config)
    smaller = parse_config(CONFIG.replace("  - name: feed\n", "  - name: feed2\n"))
    store.sync(smaller.targets)
    text = store.text()
    assert 'service="feed"' not in text
    samples = _samples(text)
    web = _l(service="web", tier='core "quoted" \\ back\nslash')
    assert ("ghost_probes_total", web, "2.0") in samples
    relabelled = parse_config(CONFIG.replace('labels: {tier: "core', 'labels: {zone: "core'))
    store.sync(relabelled.targets)
    assert 'tier="' not in store.text()
    assert 'zone="core' in store.text()
    assert _samples(store.text()) == _samples(_reference(store))


def test_late_result_of_removed_target_is_dropped() -> None:
    config = parse_config(CONFIG)
    store = ResultStore()
    store.sync(config.targets)
    store.sync(parse_config("services: []\n").targets)
    assert not store.record(config.by_name["web"], _http_result(0.1))
    assert store.text() == ""


label_values = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20
)
floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-9, 1e21, 123456789.125, 0.1]),
)


@settings(max_examples=200, deadline=None)
@given(label_values, floats, floats)
def test_escaping_and_floats_match_the_library(value: str, lag: float, expiry: float) -> None:
    config = parse_config(
        "services:\n  - name: t\n    labels: {extra: PLACEHOLDER}\n"
        "    websocket: {url: 'ws://127.0.0.1:1/'}\n"
    )
    target = config.targets[0]
    patched = dataclasses.replace(target, labels=(("extra", value),))
    store = ResultStore()
    store.sync([patched])
    result = ProbeResult()
    result.duration = 0.5
    result.message_lag = lag
    result.cert_expiry = expiry
    result.health = Health.HEALTHY
    result.succeed()
    store.record(patched, result)
    assert _samples(store.text()) == _samples(_reference(store))


@pytest.mark.parametrize("kind", ["http", "tcp"])
def test_no_message_lag_outside_websocket(kind: str) -> None:
    spec = "http: {url: 'http://h/'}" if kind == "http" else "tcp: {address: 'h:1'}"
    config = parse_config(f"services:\n  - name: t\n    {spec}\n")
    store = ResultStore()
    store.sync(config.targets)
    result = ProbeResult()
    result.succeed()
    store.record(config.targets[0], result)
    assert "ghost_websocket_message_lag_seconds" not in store.text()
    assert ("ghost_probe_http_status_code" in store.text()) == (kind == "http")


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        (None, "identity"),
        ("", "identity"),
        ("  ", "identity"),
        ("gzip", "gzip"),
        ("gzip, deflate, br, zstd", "gzip"),
        ("GZIP", "gzip"),
        ("x-gzip", "gzip"),
        ("*", "gzip"),
        ("br", "identity"),
        ("gzip;q=0", "identity"),
        ("gzip ; Q=0.000", "identity"),
        ("*;q=0, identity", "identity"),
        ("*;q=0, gzip", "gzip"),
        ("gzip;q=0.5, identity", "identity"),
        ("identity;q=0.2, gzip;q=0.3", "gzip"),
        ("gzip;q=0.5, identity;q=0.5", "gzip"),
        ("gzip;q=0, x-gzip;q=0.4", "gzip"),
        ("gzip;q=2", "identity"),  # out of range: ignored
        ("gzip;q=high, identity;q=0.1", "identity"),  # malformed: ignored
        ("identity;q=0", None),
        ("*;q=0", None),
        ("br, *;q=0", None),
        ("gzip;q=0, identity;q=0", None),
        ("identity;q=0, *", "gzip"),
    ],
)
def test_choose_encoding(header: str | None, chosen: str | None) -> None:
    assert choose_encoding(header) == chosen
