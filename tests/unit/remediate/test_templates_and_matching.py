"""Placeholder templates and value checks (injection attempts), and rule matching."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from yarl import URL

from ghost_common.regex import compile_regex
from ghost_remediate.actions import check_url_values, render_url, request_url
from ghost_remediate.config import HTTPSpec, Matcher, parse_config
from ghost_remediate.templates import (
    DEFAULT_PATTERN,
    MAX_VALUE_LENGTH,
    Placeholder,
    RefusedValue,
    TemplateError,
    check_value,
    parse,
)

DEFAULT = compile_regex(DEFAULT_PATTERN)
LOOSE = compile_regex(r"(?s).*")

CONFIG = """\
auth: {bearer_token: 0123456789abcdef-token}
rules:
  - name: restart-core
    match: {tier: core}
    match_re: {alertname: 'GhostService(Down|Unhealthy)'}
    verify: false
    placeholders: {service: }
    action: {http: {url: 'http://127.0.0.1:8797/-/restart/{service}?from=ghost'}}
  - name: any-down
    match: {alertname: GhostServiceDown}
    verify: false
    action: {command: {argv: [/bin/true]}}
"""


def test_parse_splits_literals_and_placeholders() -> None:
    template = parse("ghost-{service}.service")
    assert template.parts == ("ghost-", Placeholder("service"), ".service")
    assert template.names == {"service"}
    assert template.literal_prefix == "ghost-"
    assert template.render({"service": "dual-monitor"}) == "ghost-dual-monitor.service"


def test_double_braces_are_literal_braces() -> None:
    template = parse("{{not}} a {x} }}")
    assert template.names == {"x"}
    assert template.render({"x": "v"}) == "{not} a v }"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("a{", "invalid placeholder at position 1"),
        ("{}", "invalid placeholder at position 0"),
        ("{a b}", "invalid placeholder at position 0"),
        ("{1a}", "invalid placeholder at position 0"),
        ("a}b", "unmatched '}' at position 1"),
    ],
)
def test_bad_templates(source: str, message: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(message)):
        parse(source)


INJECTIONS = [
    ("--flag", "starts with '-'"),
    ("-rf", "starts with '-'"),
    ("../../etc", "does not match"),
    ("a/../b", "does not match"),
    ("a;rm -rf /", "does not match"),
    ("$(x)", "does not match"),
    ("`id`", "does not match"),
    ("a b", "does not match"),
    ("a\tb", "contains a control character"),
    ("dual-monitor\n", "contains a control character"),
    ("a\nb", "contains a control character"),
    ("a\x00b", "contains a control character"),
    ("a\u2028b", "contains a control character"),
    ("a\u200bb", "contains a control character"),
    ("x" * 65, "does not match"),
    ("x" * (MAX_VALUE_LENGTH + 1), "longer than 256 characters (257)"),
    ("", "empty value"),
    ("a%2fb", "does not match"),
    ("a?b=c", "does not match"),
    ("dual-monitor#x", "does not match"),
]


@pytest.mark.parametrize(("value", "reason"), INJECTIONS)
def test_injection_attempts_are_refused_by_the_default_pattern(value: str, reason: str) -> None:
    with pytest.raises(RefusedValue) as excinfo:
        check_value("service", value, DEFAULT)
    assert excinfo.value.reason.startswith(reason)
    assert excinfo.value.value == value


@pytest.mark.parametrize(
    ("value", "reason"),
    [(v, r) for v, r in INJECTIONS if not r.startswith("does not match")],
)
def test_no_pattern_lets_through_what_the_floor_refuses(value: str, reason: str) -> None:
    with pytest.raises(RefusedValue) as excinfo:
        check_value("service", value, LOOSE)
    assert excinfo.value.reason.startswith(reason)


@pytest.mark.parametrize("value", ["dual-monitor", "a", "status_api.v2", "X" * 64, "a..b"])
def test_plain_names_pass(value: str) -> None:
    assert check_value("service", value, DEFAULT) == value


def test_a_pattern_is_matched_whole_even_with_a_trailing_newline() -> None:
    assert re.match(r"^[a-z-]+$", "dual-monitor\n")  # re's $ matches before a final newline
    with pytest.raises(RefusedValue):
        check_value("service", "dual-monitor\n", compile_regex(r"^[a-z-]+$"))
    with pytest.raises(RefusedValue, match="does not match"):
        check_value("service", "dual-monitorX", compile_regex("dual-monitor"))


@given(st.text(max_size=80))
def test_accepted_values_are_plain_names(value: str) -> None:
    try:
        check_value("service", value, DEFAULT)
    except RefusedValue:
        return
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", value)


@given(st.text(min_size=1, max_size=40))
def test_a_url_value_never_leaves_its_path_segment(value: str) -> None:
    """Even with a permissive pattern, percent-encoding keeps a value inside its segment."""
    config = parse_config(CONFIG)
    action = config.rules[0].action
    assert isinstance(action, HTTPSpec)
    url = render_url(action, {"service": value})
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.query) == ("http", "127.0.0.1:8797", "from=ghost")
    assert parts.path.startswith("/-/restart/")
    assert "/" not in parts.path.removeprefix("/-/restart/")


def _http_action(url: str) -> HTTPSpec:
    config = parse_config(
        "auth: {bearer_token: 0123456789abcdef-token}\nrules:\n  - name: r\n"
        "    match: {alertname: A}\n    verify: false\n"
        "    placeholders: {a: {pattern: '.+'}, b: {pattern: '.+'}}\n"
        f"    action: {{http: {{url: '{url}'}}}}\n"
    )
    action = config.rules[0].action
    assert isinstance(action, HTTPSpec)
    return action


@pytest.mark.parametrize(
    ("url", "a", "b", "segment"),
    [
        ("http://h/x/{a}/{b}", "..", "ok", ".."),
        ("http://h/x/{a}/{b}", "ok", ".", "."),
        ("http://h/x/{a}{b}/y", ".", ".", ".."),
        ("http://h/x/{a}./y", ".", "ok", ".."),
        ("http://h/x/.{a}/y?b={b}", ".", "ok", ".."),
        ("http://h/{a}", "..", "ok", ".."),
    ],
)
def test_a_value_that_makes_a_dot_segment_is_refused(
    url: str, a: str, b: str, segment: str
) -> None:
    action = _http_action(url)
    with pytest.raises(RefusedValue) as excinfo:
        request_url(action, {"a": a, "b": b})
    assert excinfo.value.reason == (
        f"would make {segment!r} a segment of the URL path, which moves the request to another path"
    )


@pytest.mark.parametrize(
    ("url", "a", "b", "sent"),
    [
        ("http://h/x/{a}/{b}", "...", ".a", "/x/.../.a"),
        ("http://h/x/{a}{b}", "%2e", "%2E", "/x/%252e%252E"),
        ("http://h/x?a={a}&b={b}", "..", ".", "/x?a=..&b=."),
        ("http://h/x/{a}?{b}", "a;b=c", "..", "/x/a%3Bb%3Dc?.."),
        ("http://h/é/{a}#frag-{b}", "é", "..", "/%C3%A9/%C3%A9"),
    ],
)
def test_other_values_stay_literal_and_are_requested_as_built(
    url: str, a: str, b: str, sent: str
) -> None:
    action = _http_action(url)
    check_url_values(action, {"a": a, "b": b})
    requested = request_url(action, {"a": a, "b": b})
    assert requested.raw_path_qs == sent
    assert URL(str(requested), encoded=True) == requested  # what is logged is what is sent


@given(st.text(min_size=1, max_size=40))
def test_a_requested_url_keeps_its_path_segments_or_the_value_is_refused(value: str) -> None:
    """Whatever a permissive pattern lets through, the URL requested (after yarl, as aiohttp
    sends it) has the config's path with the value as one segment that is not a dot segment."""
    config = parse_config(CONFIG)
    action = config.rules[0].action
    assert isinstance(action, HTTPSpec)
    try:
        url = request_url(action, {"service": value})
    except RefusedValue:
        assert value in (".", "..")
        return
    assert (url.scheme, url.raw_authority, url.raw_query_string) == (
        "http",
        "127.0.0.1:8797",
        "from=ghost",
    )
    [segment] = url.raw_parts[3:]
    assert url.raw_parts[:3] == ("/", "-", "restart")
    assert segment not in (".", "..")
    assert url.parts[3] == value  # decoded back, the server sees the value itself


# -- matching ----------------------------------------------------------------------------------


def test_equality_and_anchored_regex() -> None:
    assert Matcher("service", "dual-monitor").matches({"service": "dual-monitor"})
    assert not Matcher("service", "dual-monitor").matches({"service": "dual-monitor-2"})
    regex = Matcher(
        "alertname", "GhostService(Down|Unhealthy)", compile_regex("GhostService(Down|Unhealthy)")
    )
    assert regex.matches({"alertname": "GhostServiceDown"})
    assert not regex.matches({"alertname": "GhostServiceDownstream"})  # anchored
    assert not regex.matches({"alertname": "XGhostServiceDown"})
    assert str(regex) == 'alertname=~"GhostService(Down|Unhealthy)"'


def test_a_missing_label_never_matches() -> None:
    assert not Matcher("service", "").matches({})
    assert not Matcher("service", ".*", compile_regex(".*")).matches({"alertname": "x"})


@pytest.mark.parametrize(
    ("labels", "rule"),
    [
        ({"alertname": "GhostServiceDown", "tier": "core", "service": "a"}, "restart-core"),
        ({"alertname": "GhostServiceUnhealthy", "tier": "core", "service": "a"}, "restart-core"),
        ({"alertname": "GhostServiceDown", "tier": "edge", "service": "a"}, "any-down"),
        ({"alertname": "GhostServiceDown", "service": "a"}, "any-down"),  # tier missing
        ({"alertname": "GhostServiceUnhealthy", "tier": "edge"}, None),
        ({"alertname": "GhostServiceDegraded", "tier": "core"}, None),
        ({"tier": "core"}, None),
    ],
)
def test_the_first_rule_whose_matchers_all_match_wins(
    labels: dict[str, str], rule: str | None
) -> None:
    config = parse_config(CONFIG)
    found = next((r.name for r in config.rules if r.matches(labels)), None)
    assert found == rule
