"""Configuration of reporters and pipelines: every error by exact message, file, line, key."""

from __future__ import annotations

import pytest

from ghost_exporter.config import ConfigError, parse_config
from ghost_exporter.kinds.pipeline import Pipeline
from ghost_exporter.kinds.reporter import Reporter
from ghost_exporter.metrics import delivery_buckets

GOOD = """\
defaults: {interval: 5s, timeout: 3s}
services:
  - name: dual-monitor
    http: {url: 'http://127.0.0.1:8787/health', health_field: status}
reporters:
  - name: status-api
    http:
      url: http://127.0.0.1:8789/api/services/status
pipelines:
  - name: patch-events
    interval: 15s
    deadline: 5s
    emit:
      http: {url: 'http://127.0.0.1:8790/api/canary', body: '{"id": "{{canary}}"}'}
    observe:
      - name: status-ws
        websocket: {url: 'ws://127.0.0.1:8789/ws'}
      - name: status-rest
        http: {url: 'http://127.0.0.1:8789/api/patches?limit=100', poll: 250ms}
"""

_PIPE = "pipelines:\n  - name: p\n    interval: 15s\n"
_EMIT = "    emit: {http: {url: 'http://h/c', body: '{{canary}}'}}\n"
_OBS = "    observe: [{name: o, websocket: {url: 'ws://h/ws'}}]\n"

BAD: list[tuple[str, str]] = [
    (
        "reporters:\n  - name: r\n    http: {url: 'http://h/', bogus: 1}\n",
        "g.yml:3: reporters[0].http.bogus: unknown key",
    ),
    ("reporters:\n  - name: r\n", "g.yml:2: reporters[0].http: missing required key"),
    (
        "reporters:\n  - name: r\n    http: {url: 'http://h/', services_field: ''}\n",
        "g.yml:3: reporters[0].http.services_field: String should have at least 1 character",
    ),
    (
        "reporters:\n  - name: r\n    http:\n      url: 'http://h/'\n"
        "      health_map: {ok: fine}\n",
        "g.yml:5: reporters[0].http.health_map.ok: Input should be 'healthy', 'degraded', "
        "'unhealthy' or 'unknown'",
    ),
    (
        "services:\n  - name: a\n    tcp: {address: 'h:1'}\n"
        "reporters:\n  - name: a\n    http: {url: 'http://h/'}\n",
        "g.yml:5: reporters[0].name: duplicate name 'a' (first used by services[0])",
    ),
    (
        "reporters:\n  - name: a\n    http: {url: 'http://h/'}\n"
        "pipelines:\n  - name: a\n    interval: 15s\n" + _EMIT + _OBS,
        "g.yml:5: pipelines[0].name: duplicate name 'a' (first used by reporters[0])",
    ),
    (
        "reporters:\n  - name: r\n    labels: {side: x}\n    http: {url: 'http://h/'}\n",
        "g.yml:3: reporters[0].labels.side: label name 'side' is reserved by the exporter",
    ),
    (
        "reporters:\n  - name: r\n    interval: 5s\n    timeout: 6s\n    http: {url: 'http://h/'}\n",
        "g.yml:4: reporters[0].timeout: timeout 6s is longer than the interval 5s",
    ),
    (
        _PIPE + "    deadline: 8s\n" + _EMIT + _OBS,
        "g.yml:4: pipelines[0].deadline: deadline 8s must be less than half the interval 15s: "
        "a round waits up to twice the deadline before the next one",
    ),
    (
        "pipelines:\n  - name: p\n    interval: 10s\n" + _EMIT + _OBS,
        "g.yml:3: pipelines[0].interval: deadline 5s must be less than half the interval 10s: "
        "a round waits up to twice the deadline before the next one",
    ),
    (
        _PIPE + "    deadline: 5\n" + _EMIT + _OBS,
        "g.yml:4: pipelines[0].deadline: duration 5 has no unit: write e.g. 5s",
    ),
    (
        _PIPE + "    emit: {http: {url: 'http://h/{{canary}}', body: '{{canary}}'}}\n" + _OBS,
        "g.yml:4: pipelines[0].emit.http.url: {{canary}} is only replaced in the emit "
        "request's body and headers, not here",
    ),
    (
        _PIPE + "    emit: {http: {url: 'http://h/c', body: '{{id}}'}}\n" + _OBS,
        "g.yml:4: pipelines[0].emit.http.body: unknown placeholder '{{id}}': only {{canary}} "
        "is replaced",
    ),
    (
        _PIPE + "    emit: {http: {url: 'http://h/c', body: 'static'}}\n" + _OBS,
        "g.yml:4: pipelines[0].emit.http: the body or a header must carry {{canary}}",
    ),
    (
        _PIPE + "    emit: {http: {url: 'http://h/c', headers: {X-C: '{{canry}}'}}}\n" + _OBS,
        "g.yml:4: pipelines[0].emit.http.headers: unknown placeholder '{{canry}}': only "
        "{{canary}} is replaced",
    ),
    (
        _PIPE + _EMIT + "    observe: [{name: o, websocket: {url: 'ws://h/{{canary}}'}}]\n",
        "g.yml:5: pipelines[0].observe[0].websocket.url: {{canary}} is only replaced in the "
        "emit request's body and headers, not here",
    ),
    (
        _PIPE + _EMIT + "    observe: [{name: o, http: {url: 'http://h/?q={{canary}}'}}]\n",
        "g.yml:5: pipelines[0].observe[0].http.url: {{canary}} is only replaced in the emit "
        "request's body and headers, not here",
    ),
    (
        _PIPE + _EMIT + "    observe: []\n",
        "g.yml:5: pipelines[0].observe: List should have at least 1 item after validation, not 0",
    ),
    (
        _PIPE + _EMIT + "    observe: [{name: o}]\n",
        "g.yml:5: pipelines[0].observe[0]: needs exactly one of websocket, http (found: none)",
    ),
    (
        _PIPE + _EMIT + "    observe:\n      - {name: o, websocket: {url: 'ws://h/a'}}\n"
        "      - {name: o, http: {url: 'http://h/b'}}\n",
        "g.yml:7: pipelines[0].observe[1].name: duplicate observer name 'o' (first used by "
        "observe[0])",
    ),
    (
        _PIPE + _EMIT + "    observe: [{name: o, websocket: {url: 'http://h/ws'}}]\n",
        "g.yml:5: pipelines[0].observe[0].websocket.url: URL scheme must be one of ws, wss, "
        "not 'http'",
    ),
    (
        _PIPE + _EMIT + "    observe: [{name: o, http: {url: 'http://h/', poll: 0s}}]\n",
        "g.yml:5: pipelines[0].observe[0].http.poll: Input should be greater than 0",
    ),
    (
        _PIPE + "    emit: {url: 'http://h/c'}\n" + _OBS,
        "g.yml:4: pipelines[0].emit.http: missing required key\n"
        "g.yml:4: pipelines[0].emit.url: unknown key",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD, ids=[e for _, e in BAD])
def test_bad_sync_config_is_reported_with_file_line_and_key(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "g.yml")
    assert str(info.value) == expected


def test_good_sync_config_builds_reporter_and_pipeline_targets() -> None:
    config = parse_config(GOOD)
    assert [t.kind for t in config.targets] == ["http", "reporter", "pipeline"]
    reporter = config.by_name["status-api"]
    assert reporter.identity_label == "reporter"
    assert (reporter.interval, reporter.timeout) == (5.0, 3.0)
    assert isinstance(reporter.spec, Reporter)
    assert reporter.spec.http.services_field == "services"
    assert reporter.spec.http.name_field == "name"
    assert reporter.spec.http.state_field == "status"
    pipeline = config.by_name["patch-events"]
    assert pipeline.identity_label == "pipeline"
    assert isinstance(pipeline.spec, Pipeline)
    assert pipeline.spec.emit.http.method == "POST"
    assert [o.name for o in pipeline.spec.observe] == ["status-ws", "status-rest"]
    assert pipeline.interval == 15.0
    # connect (3s) + emit (3s) + twice the deadline
    assert pipeline.round_timeout == 16.0
    assert config.by_name["dual-monitor"].round_timeout == 3.0


def test_canary_in_a_header_is_enough() -> None:
    text = GOOD.replace('body: \'{"id": "{{canary}}"}\'', "headers: {X-Canary: '{{canary}}'}")
    pipeline = parse_config(text).by_name["patch-events"]
    assert isinstance(pipeline.spec, Pipeline)
    assert pipeline.spec.emit.http.body is None


def test_delivery_buckets_resolve_both_sides_of_the_deadline() -> None:
    buckets = delivery_buckets(5.0)
    assert buckets == (0.25, 0.5, 1.25, 2.5, 3.75, 5.0, 6.25, 7.5, 10.0)
    assert delivery_buckets(0.3)[-1] == 0.6
