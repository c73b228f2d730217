"""Configuration: every error names file, line and key path; durations, sizes, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghost_exporter.config import ConfigError, load_config, parse_config
from ghost_exporter.kinds.http import HTTPProbe
from ghost_exporter.kinds.tcp import TCPProbe

ROOT = Path(__file__).resolve().parents[3]

GOOD = """\
defaults: {interval: 15s, timeout: 5s}
services:
  - name: web
    labels: {tier: core}
    http:
      url: http://127.0.0.1:8787/health
      health_field: status
  - name: feed
    websocket: {url: ws://127.0.0.1:8788/ws, timestamp_field: ts}
  - name: redis
    interval: 30s
    tcp: {address: "127.0.0.1:6379"}
daemons:
  - name: stress
    url: http://127.0.0.1:8790
"""

BAD: list[tuple[str, str]] = [
    (
        "services:\n  - name: a\n    http: {url: http://x/, bogus: 1}\n",
        "g.yml:3: services[0].http.bogus: unknown key",
    ),
    (
        "services:\n  - name: a\n    http:\n      url: ftp://x/\n",
        "g.yml:4: services[0].http.url: URL scheme must be one of http, https, not 'ftp'",
    ),
    (
        "services:\n  - name: a\n    http:\n      url: http://\n",
        "g.yml:4: services[0].http.url: URL has no host",
    ),
    (
        "services:\n  - name: a\n    http:\n      url: http://u:p@x/\n",
        "g.yml:4: services[0].http.url: credentials in URLs are not allowed: use basic_auth",
    ),
    (
        "services:\n  - name: a\n    timeout: 5\n    tcp: {address: 'h:1'}\n",
        "g.yml:3: services[0].timeout: duration 5 has no unit: write e.g. 5s",
    ),
    (
        "services:\n  - name: a\n    interval: 10parsecs\n    tcp: {address: 'h:1'}\n",
        "g.yml:3: services[0].interval: invalid duration '10parsecs': use a number and a unit, "
        "e.g. 15s, 200ms, 1m30s",
    ),
    (
        "services:\n  - name: a\n",
        "g.yml:2: services[0]: needs exactly one of http, websocket, tcp (found: none)",
    ),
    (
        "services:\n  - name: a\n    tcp: {address: 'h:1'}\n    http: {url: 'http://h/'}\n",
        "g.yml:2: services[0]: needs exactly one of http, websocket, tcp (found: http, tcp)",
    ),
    (
        "services:\n  - name: a\n    tcp: {address: 'h:99999'}\n",
        "g.yml:3: services[0].tcp.address: address 'h:99999' has no valid port (1-65535)",
    ),
    (
        "services:\n  - http: {url: 'http://h/'}\n",
        "g.yml:2: services[0].name: missing required key",
    ),
    (
        "services:\n  - name: a\n    tcp: {address: 'h:1'}\n"
        "  - name: a\n    tcp: {address: 'h:2'}\n",
        "g.yml:4: services[1].name: duplicate name 'a' (first used by services[0])",
    ),
    (
        "services:\n  - name: a\n    tcp: {address: 'h:1'}\ndaemons:\n  - name: a\n    url: http://h/\n",
        "g.yml:5: daemons[0].name: duplicate name 'a' (first used by services[0])",
    ),
    (
        "services:\n  - name: a\n    labels:\n      service: x\n    tcp: {address: 'h:1'}\n",
        "g.yml:4: services[0].labels.service: label name 'service' is reserved by the exporter",
    ),
    (
        "services:\n  - name: a\n    labels: {'bad-label': x}\n    tcp: {address: 'h:1'}\n",
        "g.yml:3: services[0].labels.bad-label.[key]: String should match pattern "
        "'^[a-zA-Z_][a-zA-Z0-9_]{0,127}$'",
    ),
    (
        "services:\n  - name: a\n    interval: 5s\n    timeout: 10s\n    tcp: {address: 'h:1'}\n",
        "g.yml:4: services[0].timeout: timeout 10s is longer than the interval 5s",
    ),
    (
        "services:\n  - name: a\n    http: {url: 'http://h/', max_body_bytes: 1XB}\n",
        "g.yml:3: services[0].http.max_body_bytes: invalid size '1XB': use a number and a unit, "
        "e.g. 1MiB, 512KB",
    ),
    (
        "services:\n  - name: a\n    http: {url: 'http://h/', max_body_bytes: 1000000000000000}\n",
        "g.yml:3: services[0].http.max_body_bytes: Input should be less than or equal to "
        "1099511627776",
    ),
    (
        "services:\n  - name: a\n    http: {url: 'http://h/', body_regex: '(('}\n",
        "g.yml:3: services[0].http.body_regex: invalid regular expression: missing ): `((`",
    ),
    (
        "services:\n  - name: a\n    http:\n      url: 'http://h/'\n      health_map: {ok: fine}\n",
        "g.yml:5: services[0].http.health_map.ok: Input should be 'healthy', 'degraded', "
        "'unhealthy' or 'unknown'",
    ),
    (
        "services:\n  - name: a\n    websocket: {url: 'http://h/ws'}\n",
        "g.yml:3: services[0].websocket.url: URL scheme must be one of ws, wss, not 'http'",
    ),
    (
        "services:\n  - name: a\n    http:\n      url: 'https://h/'\n"
        "      tls_config: {cert_file: c.pem}\n",
        "g.yml:5: services[0].http.tls_config: cert_file and key_file must be set together",
    ),
    (
        "services: {name: a}\n",
        "g.yml:1: services: Input should be a valid list",
    ),
    ("- just\n- a list\n", "g.yml:1: the top level must be a mapping"),
    (
        "services:\n  - name: a\n    http: {url: 'http://h/'\n",
        "g.yml:4: invalid YAML: while parsing a flow mapping: expected ',' or '}', but got "
        "'<stream end>'",
    ),
    (
        "defaults: {interval: 1s, timeout: 2s}\n",
        "g.yml:1: defaults.timeout: timeout is longer than the interval",
    ),
    (
        "services:\n  - name: a\n    retries: 11\n    tcp: {address: 'h:1'}\n",
        "g.yml:3: services[0].retries: Input should be less than or equal to 10",
    ),
    (
        "services:\n  - name: a\n    retries: -1\n    tcp: {address: 'h:1'}\n",
        "g.yml:3: services[0].retries: Input should be greater than or equal to 0",
    ),
    (
        "services:\n  - name: a\n    retry_delay: 200\n    tcp: {address: 'h:1'}\n",
        "g.yml:3: services[0].retry_delay: duration 200 has no unit: write e.g. 200s",
    ),
    (
        "daemons:\n  - name: d\n    retries: 1\n    url: http://h/\n",
        "g.yml:3: daemons[0].retries: unknown key",
    ),
    (
        "services:\n  - name: a\n    interval: 10s\n    interval_when_failing: 20s\n"
        "    tcp: {address: 'h:1'}\n",
        "g.yml:4: services[0].interval_when_failing: interval_when_failing 20s must not be "
        "longer than the interval 10s",
    ),
    (
        "defaults: {interval: 30s, timeout: 5s}\ndaemons:\n  - name: d\n"
        "    interval_when_failing: 2s\n    url: http://h/\n",
        "g.yml:4: daemons[0].interval_when_failing: interval_when_failing 2s must not be "
        "shorter than the timeout 5s",
    ),
    (
        "reporters:\n  - name: r\n    interval_when_failing: 5s\n    http: {url: http://h/}\n",
        "g.yml:3: reporters[0].interval_when_failing: unknown key",
    ),
    (
        "services:\n  - name: a\n    http:\n      url: http://h/\n      assertions:\n"
        "        - name: q\n          cel: 'body.q <'\n",
        "g.yml:7: services[0].http.assertions[0].cel: Syntax error: mismatched input '<EOF>' "
        "at column 9 of the expression",
    ),
    (
        "services:\n  - name: a\n    websocket:\n      url: ws://h/\n      assertions:\n"
        "        - {name: q, cel: 'message.q < 1'}\n",
        "g.yml:6: services[0].websocket.assertions[0].cel: unknown variable 'message': "
        "an expression sees only `body`",
    ),
    (
        "services:\n  - name: a\n    http:\n      url: http://h/\n      assertions:\n"
        "        - {name: q, cel: 'body.q < 1'}\n        - {name: q, cel: 'body.r < 1'}\n",
        "g.yml:5: services[0].http.assertions: duplicate assertion name 'q'",
    ),
    (
        "services:\n  - name: a\n    http:\n      url: http://h/\n      assertions:\n"
        "        - {name: q, cel: 'body.q < 1', on_fail: warn}\n",
        "g.yml:6: services[0].http.assertions[0].on_fail: Input should be 'degrade' or 'fail'",
    ),
    (
        "services:\n  - name: a\n    labels: {assertion: x}\n    tcp: {address: 'h:1'}\n",
        "g.yml:3: services[0].labels.assertion: label name 'assertion' is reserved by the exporter",
    ),
    # An unset variable is an error at its key path, and the rest of the file is still checked.
    (
        "secret: !env GHOST_TEST_UNSET_VARIABLE\n",
        "g.yml:1: secret: environment variable GHOST_TEST_UNSET_VARIABLE is not set\n"
        "g.yml:1: secret: unknown key",
    ),
    (
        "services:\n  - name: a\n    http:\n      url: http://h/\n"
        "      headers: {Authorization: !env GHOST_TEST_UNSET_VARIABLE}\n",
        "g.yml:5: services[0].http.headers.Authorization: "
        "environment variable GHOST_TEST_UNSET_VARIABLE is not set",
    ),
    (
        "daemons:\n  - name: d\n    url: !env GHOST_TEST_UNSET_VARIABLE\n",
        "g.yml:3: daemons[0].url: environment variable GHOST_TEST_UNSET_VARIABLE is not set",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD, ids=[e for _, e in BAD])
def test_bad_config_is_reported_with_file_line_and_key(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "g.yml")
    assert str(info.value) == expected


def test_every_error_is_reported_at_once() -> None:
    text = "services:\n  - name: a\n    http: {url: 'ftp://h/'}\n  - name: b\n    tcp: {}\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, "g.yml")
    assert [str(d) for d in info.value.details] == [
        "g.yml:3: services[0].http.url: URL scheme must be one of http, https, not 'ftp'",
        "g.yml:5: services[1].tcp.address: missing required key",
    ]


def test_good_config_resolves_defaults_and_labels() -> None:
    config = parse_config(GOOD)
    by_name = config.by_name
    assert [t.name for t in config.targets] == ["web", "feed", "redis", "stress"]
    assert [t.kind for t in config.targets] == ["http", "websocket", "tcp", "daemon"]
    assert by_name["web"].labels == (("tier", "core"),)
    assert by_name["web"].interval == 15.0
    assert by_name["redis"].interval == 30.0
    assert by_name["redis"].timeout == 5.0
    spec = by_name["web"].spec
    assert isinstance(spec, HTTPProbe)
    assert spec.max_body_bytes == 1024 * 1024
    assert spec.health_field == "status"


def test_embedded_default_config_is_valid_and_is_the_example() -> None:
    example = ROOT / "examples" / "ghost.yml"
    packaged = ROOT / "exporter" / "ghost_exporter" / "default.yml"
    assert example.read_text() == packaged.read_text()
    names = [t.name for t in load_config(example).targets]
    assert names == [
        "dual-monitor", "telemetry-api", "telemetry-ws", "status-api", "stress",
        "status-board", "patch-events",
    ]  # fmt: skip


def test_env_and_file_tags_fill_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "token").write_text("s3cret-from-file\n")
    monkeypatch.setenv("GHOST_TEST_TOKEN", "s3cret-from-env")
    config_file = tmp_path / "ghost.yml"
    config_file.write_text(
        "services:\n"
        "  - name: a\n"
        "    http:\n"
        "      url: http://127.0.0.1:1/\n"
        "      headers: {Authorization: !env GHOST_TEST_TOKEN, X-Key: !file token}\n"
    )
    spec = load_config(config_file).targets[0].spec
    assert isinstance(spec, HTTPProbe)
    assert spec.headers["Authorization"].get_secret_value() == "s3cret-from-env"
    assert spec.headers["X-Key"].get_secret_value() == "s3cret-from-file"
    assert "s3cret" not in repr(spec)


def test_missing_secret_file_names_the_line(tmp_path: Path) -> None:
    config_file = tmp_path / "ghost.yml"
    config_file.write_text("services:\n  - name: a\n    tcp: {address: !file nope}\n")
    with pytest.raises(ConfigError) as info:
        load_config(config_file)
    assert str(info.value) == (
        f"{config_file}:3: services[0].tcp.address: "
        "cannot read file nope: No such file or directory"
    )


def test_yaml_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    with pytest.raises(ConfigError) as info:
        parse_config("\n".join(lines) + "\n", "bomb.yml")
    assert str(info.value) == (
        "bomb.yml: document too large: more than 200000 nodes once aliases are expanded"
    )


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "missing.yml")
    assert str(info.value) == f"{tmp_path / 'missing.yml'}: cannot read: No such file or directory"
    bad = tmp_path / "bad.yml"
    bad.write_bytes(b"services:\n  - name: \xff\n")
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert str(info.value) == f"{bad}:2: not UTF-8: invalid byte at offset 20"


def test_tcp_address_forms() -> None:
    config = parse_config("services:\n  - name: a\n    tcp: {address: '[::1]:6379'}\n")
    spec = config.targets[0].spec
    assert isinstance(spec, TCPProbe)
    assert spec.address == "[::1]:6379"


TEN_MISTAKES = """\
defaults:
  interval: soon
services:
  - name: bad name!
    http: {url: 'http://h/'}
  - name: b
    http: {url: 'http://h/', method: FETCH}
  - name: c
    labels: {service: x}
    tcp: {address: 'h:1'}
  - name: d
    interval: 1s
    timeout: 2s
    tcp: {address: 'h:1'}
  - name: c
    tcp: {address: 'h:1'}
  - name: e
    colour: blue
    tcp: {address: 'h:1'}
  - name: f
    http: {url: 'http://h/'}
    tcp: {address: 'h:1'}
daemons:
  - name: g
    url: !env GHOST_TEST_UNSET_VARIABLE
  - name: d
    url: http://h/
"""


def test_ten_independent_mistakes_are_ten_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Field errors, an unset variable and cross-entry errors, all in one run."""
    monkeypatch.delenv("GHOST_TEST_UNSET_VARIABLE", raising=False)
    with pytest.raises(ConfigError) as info:
        parse_config(TEN_MISTAKES, "g.yml")
    messages = sorted(str(d) for d in info.value.details)
    assert len(messages) == 10, "\n".join(messages)
    expected_starts = [
        "g.yml:2: defaults.interval: ",
        "g.yml:4: services[0].name: ",
        "g.yml:7: services[1].http.method: ",
        "g.yml:9: services[2].labels.service: label name 'service' is reserved by the exporter",
        "g.yml:13: services[3].timeout: timeout 2s is longer than the interval 1s",
        "g.yml:15: services[4].name: duplicate name 'c' (first used by services[2])",
        "g.yml:18: services[5].colour: unknown key",
        "g.yml:20: services[6]: needs exactly one of http, websocket, tcp (found: http, tcp)",
        "g.yml:25: daemons[0].url: environment variable GHOST_TEST_UNSET_VARIABLE is not set",
        "g.yml:26: daemons[1].name: duplicate name 'd' (first used by services[3])",
    ]
    for start in expected_starts:
        assert sum(m.startswith(start) for m in messages) == 1, (start, messages)
