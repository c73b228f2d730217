"""remediate.yml's match_re and placeholder patterns are RE2: a pattern that would backtrack for
minutes answers at once, and validate names what RE2 lacks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ghost_remediate.config import ConfigError, parse_config
from ghost_remediate.templates import RefusedValue, check_value
from tests.support import cli

HEAD = """\
auth: {bearer_token: 0123456789abcdef-token}
rules:
  - name: restart
    verify: false
"""


def _rule(match_re: str, pattern: str) -> str:
    return HEAD + (
        f"    match_re: {{alertname: GhostServiceDown, instance: '{match_re}'}}\n"
        f"    placeholders:\n      service: {{pattern: '{pattern}'}}\n"
        "    action: {http: {url: 'http://127.0.0.1:8797/-/restart/{service}'}}\n"
    )


def test_catastrophic_patterns_answer_at_once() -> None:
    rule = parse_config(_rule("(a+)+$", "(a+)+$")).rules[0]
    labels = {"alertname": "GhostServiceDown", "instance": "a" * 10_000 + "b"}
    assert not rule.matches(labels)
    assert rule.matches({**labels, "instance": "a" * 10_000})
    value = "a" * 200 + "b"
    with pytest.raises(RefusedValue) as info:
        check_value("service", value, rule.service_pattern())
    assert info.value.reason == "does not match (a+)+$"
    assert check_value("service", "a" * 200, rule.service_pattern()) == "a" * 200


def test_matchers_and_placeholders_are_anchored_re2() -> None:
    rule = parse_config(_rule("node-[0-9]+", "[a-z]+\\z")).rules[0]
    assert rule.matches({"alertname": "GhostServiceDown", "instance": "node-12"})
    assert not rule.matches({"alertname": "GhostServiceDown", "instance": "node-12x"})
    assert check_value("service", "status", rule.service_pattern()) == "status"
    with pytest.raises(RefusedValue):
        check_value("service", "status-api", rule.service_pattern())


@pytest.mark.parametrize(
    ("match_re", "pattern", "expected"),
    [
        (
            "(?!node-0)node-[0-9]+",
            "[a-z]+",
            "r.yml:5: rules[0].match_re.instance: RE2 has no lookaround (`(?!`): "
            "match the text and check it separately",
        ),
        (
            "node-[0-9]+",
            "[a-z]+\\Z",
            "r.yml:7: rules[0].placeholders.service.pattern: RE2 has no `\\Z`: "
            "write `\\z` for the end of the text",
        ),
        (
            "(node)-\\1",
            "[a-z]++",
            "r.yml:5: rules[0].match_re.instance: RE2 has no backreferences (`\\1`): "
            "match the text and check it separately\n"
            "r.yml:7: rules[0].placeholders.service.pattern: RE2 has no possessive quantifiers "
            "(`++`): write `+`; RE2 never backtracks, so it needs none",
        ),
    ],
)
def test_what_re2_lacks_is_named_with_file_line_and_key(
    match_re: str, pattern: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_rule(match_re, pattern), "r.yml")
    assert [str(detail) for detail in info.value.details] == expected.split("\n")


def test_validate_command_prints_the_re2_message(tmp_path: Path) -> None:
    config = tmp_path / "remediate.yml"
    config.write_text(_rule("node-[0-9]+", "(?>[a-z]+)"))
    done = subprocess.run(
        [cli("ghost-remediate"), "validate", f"--config.file={config}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == (
        f"invalid configuration:\n{config}:7: rules[0].placeholders.service.pattern: "
        "RE2 has no atomic groups (`(?>`): write `(?:`; RE2 never backtracks, so it needs none\n"
    )
