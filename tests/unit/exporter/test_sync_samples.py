"""Reporter and pipeline series: the fast text equals prometheus_client's, and reloads keep
what they should."""

from __future__ import annotations

import math

from bench.reference import TargetCollector
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ghost_exporter.config import Config, parse_config
from ghost_exporter.probes import CanaryRound, FailureReason, Health, ProbeResult
from ghost_exporter.store import ResultStore

CONFIG = """\
services:
  - name: web
    http: {url: 'http://127.0.0.1:1/'}
reporters:
  - name: board
    labels: {team: "a \\"b\\""}
    http: {url: 'http://127.0.0.1:1/status'}
pipelines:
  - name: events
    interval: 15s
    deadline: 5s
    emit: {http: {url: 'http://127.0.0.1:1/c', body: '{{canary}}'}}
    observe:
      - {name: feed, websocket: {url: 'ws://127.0.0.1:1/ws'}}
      - {name: rest, http: {url: 'http://127.0.0.1:1/list'}}
"""


def _samples(text: str) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
    out = set()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if not sample.name.endswith("_created"):
                out.add((sample.name, tuple(sorted(sample.labels.items())), sample.value))
    return out


def _reference(store: ResultStore) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TargetCollector(store.states()))
    return generate_latest(registry).decode()


def _round(feed: float | None, rest: float | None, emitted: bool = True) -> ProbeResult:
    result = ProbeResult()
    result.canary = CanaryRound("canary-" + "0" * 32, emitted, seen={"feed": feed, "rest": rest})
    if not emitted:
        result.canary.emit_reason = FailureReason.CONNECT
        result.fail(FailureReason.CONNECT, "emit: refused")
    elif feed is not None and rest is not None and max(feed, rest) <= 5:
        result.succeed()
    else:
        result.fail(FailureReason.HEALTH, "late or lost")
    return result


def _filled(config: Config) -> ResultStore:
    store = ResultStore()
    store.sync(config.targets)
    web = ProbeResult()
    web.health = Health.HEALTHY
    web.succeed()
    store.record(config.by_name["web"], web)
    claims = ProbeResult()
    claims.claims = {"web": Health.HEALTHY, "elsewhere": Health.DEGRADED}
    claims.succeed()
    store.record(config.by_name["board"], claims)
    for result in (_round(0.2, 1.0), _round(7.5, None), _round(None, None, emitted=False)):
        store.record(config.by_name["events"], result)
    return store


def test_fast_text_equals_prometheus_client_output_for_sync_kinds() -> None:
    store = _filled(parse_config(CONFIG))
    fast = store.text()
    assert _samples(fast) == _samples(_reference(store))
    samples = _samples(fast)
    board = (("reporter", "board"), ("team", 'a "b"'))
    assert ("ghost_reporter_up", board, 1.0) in samples
    assert ("ghost_monitor_in_sync", tuple(sorted((*board, ("service", "web")))), 1.0) in samples
    unmatched = "ghost_reporter_unmatched_services"
    assert (unmatched, tuple(sorted((*board, ("side", "reporter")))), 1.0) in samples
    assert (unmatched, tuple(sorted((*board, ("side", "exporter")))), 0.0) in samples
    feed = (("observer", "feed"), ("pipeline", "events"))
    total = "ghost_pipeline_canaries_total"
    assert (total, (*feed[:1], ("outcome", "delivered"), feed[1]), 1.0) in samples
    assert (total, (*feed[:1], ("outcome", "late"), feed[1]), 1.0) in samples
    assert ("ghost_pipeline_delivery_seconds_count", feed, 2.0) in samples
    assert ("ghost_pipeline_delivery_seconds_sum", feed, 7.7) in samples
    le = (("le", "5.0"), *feed)
    assert ("ghost_pipeline_delivery_seconds_bucket", le, 1.0) in samples
    failures = (("pipeline", "events"), ("reason", "connect"))
    assert ("ghost_pipeline_emit_failures_total", failures, 1.0) in samples
    assert ("ghost_pipeline_up", (("pipeline", "events"),), 0.0) in samples
    rest = (("observer", "rest"), ("outcome", "lost"), ("pipeline", "events"))
    assert (total, rest, 1.0) in samples
    assert not any(math.isnan(v) for _, _, v in samples)


def test_reload_keeps_counters_of_observers_that_stay() -> None:
    config = parse_config(CONFIG)
    store = _filled(config)
    more = CONFIG.replace(
        "      - {name: rest,",
        "      - {name: extra, http: {url: 'http://h/'}}\n      - {name: rest,",
    )
    store.sync(parse_config(more).targets)
    samples = _samples(store.text())
    count = "ghost_pipeline_delivery_seconds_count"
    assert (count, (("observer", "feed"), ("pipeline", "events")), 2.0) in samples
    assert (count, (("observer", "extra"), ("pipeline", "events")), 0.0) in samples
    store.sync(parse_config(more.replace("deadline: 5s", "deadline: 4s")).targets)
    samples = _samples(store.text())  # other buckets: the histogram starts again
    assert (count, (("observer", "feed"), ("pipeline", "events")), 0.0) in samples
    assert _samples(store.text()) == _samples(_reference(store))
