"""remediate.yml: the example loads; every error names file, line and key with an exact message."""

from __future__ import annotations

import subprocess
from pathlib import Path

import bcrypt
import pytest

from ghost_remediate.config import (
    CommandSpec,
    ConfigError,
    HTTPSpec,
    load_config,
    parse_config,
)
from tests.support import ROOT, cli

TOKEN = "0123456789abcdef-token"
AUTH = f"auth:\n  bearer_token: {TOKEN}\n"
VERIFY = "verify:\n  probe_url: http://127.0.0.1:9798/probe\n"
RULE = """\
  - name: restart
    match: {service: dual-monitor}
    match_re: {alertname: GhostServiceDown|GhostServiceUnhealthy}
    placeholders:
      service:
    action:
      http: {url: 'http://127.0.0.1:8797/-/restart/{service}'}
"""
GOOD = AUTH + VERIFY + "rules:\n" + RULE


def errors_of(text: str, tmp_path: Path | None = None) -> list[str]:
    with pytest.raises(ConfigError) as excinfo:
        parse_config(text, "r.yml", tmp_path)
    return [str(detail) for detail in excinfo.value.details]


def test_the_example_config_loads() -> None:
    config = load_config(ROOT / "examples" / "remediate.yml")
    [rule] = config.rules
    assert rule.name == "restart-dual-monitor"
    assert isinstance(rule.action, HTTPSpec)
    assert rule.action.url.render({"service": "dual-monitor"}) == (
        "http://127.0.0.1:8797/-/restart/dual-monitor"
    )
    assert config.bearer_token == (ROOT / "examples" / "remediate.token").read_text().strip()
    assert config.verify is not None
    assert config.verify.probe_url == "http://127.0.0.1:9798/probe"
    assert (rule.cooldown, rule.max_attempts, rule.window, rule.verify_timeout) == (
        300.0,
        3,
        3600.0,
        60.0,
    )


def test_defaults_and_overrides() -> None:
    config = parse_config(
        GOOD + "  - name: cmd\n    match: {alertname: X}\n    cooldown: 0s\n    max_attempts: 1\n"
        "    window: 10m\n    verify: false\n    action:\n      command:\n"
        "        argv: [systemctl, restart, 'ghost-{{x}}.service']\n"
    )
    http, command = config.rules
    assert (http.cooldown, http.max_attempts, http.window, http.verify_timeout) == (
        300.0,
        3,
        3600.0,
        60.0,
    )
    assert (command.cooldown, command.max_attempts, command.window) == (0.0, 1, 600.0)
    assert command.verify_timeout is None
    assert isinstance(command.action, CommandSpec)
    assert command.action.describe({}) == "systemctl restart 'ghost-{x}.service'"
    assert (command.action.timeout, command.action.kill_grace) == (30.0, 2.0)


def test_secrets_come_from_files_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n")
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode()
    monkeypatch.setenv("GHOST_TEST_HASH", hashed)
    text = (
        "auth:\n  bearer_token: !file token\n  basic_auth_users:\n    am: !env GHOST_TEST_HASH\n"
        + VERIFY
        + "rules:\n"
        + RULE
    )
    config = parse_config(text, "r.yml", tmp_path)
    assert config.bearer_token == TOKEN
    assert config.basic_auth_users == {"am": hashed.encode()}


def test_errors_never_show_a_value_read_through_a_tag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message that would quote a value read with ``!env`` or ``!file`` masks it, as the
    exporter's config and the web config do."""
    monkeypatch.setenv("GHOST_TEST_PATTERN", "Ghost(s3cret-env-value")
    (tmp_path / "pattern").write_text("Ghost(s3cret-file-value\n")
    rule = RULE.replace(
        "match_re: {alertname: GhostServiceDown|GhostServiceUnhealthy}",
        "match_re: {alertname: !env GHOST_TEST_PATTERN, severity: !file pattern}",
    )
    errors = errors_of(AUTH + VERIFY + "rules:\n" + rule, tmp_path)
    assert errors == [
        "r.yml:8: rules[0].match_re.alertname: invalid regular expression: missing ): `<secret>`",
        "r.yml:8: rules[0].match_re.severity: invalid regular expression: missing ): `<secret>`",
    ]


BAD: list[tuple[str, list[str]]] = [
    # Every error of every stage: a field error never hides a cross-check's.
    ("", ["r.yml: auth: missing required key", "r.yml: rules: needs at least one rule"]),
    (
        "auth: {}\nrules: []\n",
        [
            "r.yml:1: auth: needs bearer_token, basic_auth_users or hmac",
            "r.yml:2: rules: needs at least one rule",
        ],
    ),
    (
        "auth:\n  bearer_token: short\nrules: []\n",
        [
            "r.yml:2: auth.bearer_token: the token must be at least 16 characters long",
            "r.yml:3: rules: needs at least one rule",
        ],
    ),
    (
        "auth:\n  basic_auth_users:\n    am: plain-password\n" + "rules:\n" + RULE,
        [
            "r.yml:3: auth.basic_auth_users.am: must be a bcrypt hash ($2b$..., 60 characters), "
            "not a password",
            "r.yml:5: rules[0].verify: verifying needs the top-level verify section (probe_url), "
            "or set verify: false",
        ],
    ),
    (AUTH + "rules: []\n", ["r.yml:3: rules: needs at least one rule"]),
    (
        AUTH + VERIFY + "rules:\n" + RULE.replace("    match:", "    acton: x\n    match:"),
        ["r.yml:7: rules[0].acton: unknown key"],
    ),
    (
        AUTH + VERIFY + "rules:\n  - name: a\n    match: {service: x}\n"
        "    action: {http: {url: 'http://h/'}}\n",
        ["r.yml:6: rules[0]: needs an alertname in match or match_re"],
    ),
    (
        AUTH + VERIFY + "rules:\n" + RULE + RULE,
        ["r.yml:13: rules[1].name: duplicate rule name 'restart' (first used by rules[0])"],
    ),
    (
        AUTH + VERIFY + "rules:\n" + RULE.replace("GhostServiceDown|", "GhostServiceDown|("),
        [
            "r.yml:8: rules[0].match_re.alertname: invalid regular expression: missing ): "
            "`GhostServiceDown|(GhostServiceUnhealthy`"
        ],
    ),
    (
        AUTH + VERIFY + "rules:\n" + RULE.replace("    placeholders:\n      service:\n", ""),
        ["r.yml:10: rules[0].action.http.url: placeholder {service} is not in placeholders"],
    ),
    (
        AUTH
        + VERIFY
        + "rules:\n"
        + RULE.replace("127.0.0.1:8797/-/restart/{service}", "{service}.example/x"),
        [
            "r.yml:12: rules[0].action.http.url: placeholders may only stand in the path or "
            "the query"
        ],
    ),
    (
        AUTH + VERIFY + "rules:\n" + RULE.replace("/-/restart/", "/-/x/../restart/"),
        [
            "r.yml:12: rules[0].action.http.url: the path holds a '.' or '..' segment: write the "
            "path the request should go to"
        ],
    ),
    (
        AUTH + VERIFY + "rules:\n" + RULE.replace("/-/restart/", "/-/%2E/restart/"),
        [
            "r.yml:12: rules[0].action.http.url: the path holds a '.' or '..' segment: write the "
            "path the request should go to"
        ],
    ),
    (
        AUTH + VERIFY + "rules:\n" + RULE.replace("/{service}", "/{service"),
        [
            "r.yml:12: rules[0].action.http.url: invalid placeholder at position 32: write "
            "{name} with a name of letters, digits and _, or {{ for a literal brace"
        ],
    ),
    (
        AUTH + VERIFY + "rules:\n" + RULE.replace("http: {url: 'http://", "http: {url: 'ftp://"),
        ["r.yml:12: rules[0].action.http.url: URL scheme must be http or https, not 'ftp'"],
    ),
    (
        AUTH
        + VERIFY
        + "rules:\n"
        + RULE.replace(
            "      http: {url: 'http://127.0.0.1:8797/-/restart/{service}'}\n",
            "      command:\n        argv: ['{service}', restart]\n",
        ),
        [
            "r.yml:13: rules[0].action.command.argv[0]: the program (argv[0]) cannot hold a "
            "placeholder"
        ],
    ),
    (
        AUTH
        + VERIFY
        + "rules:\n"
        + RULE.replace(
            "      http: {url: 'http://127.0.0.1:8797/-/restart/{service}'}\n",
            "      command:\n        argv: [systemctl, restart, '{unit}']\n        timeout: 0s\n",
        ),
        [
            "r.yml:14: rules[0].action.command.timeout: Input should be greater than 0",
        ],
    ),
    (
        AUTH
        + VERIFY
        + "rules:\n"
        + RULE.replace(
            "      http: {url: 'http://127.0.0.1:8797/-/restart/{service}'}\n",
            "      command:\n        argv: [systemctl, restart, '{unit}']\n",
        ),
        ["r.yml:13: rules[0].action.command.argv[2]: placeholder {unit} is not in placeholders"],
    ),
    (
        AUTH
        + VERIFY
        + "rules:\n"
        + RULE.replace(
            "      http: {url: 'http://127.0.0.1:8797/-/restart/{service}'}\n",
            "      http: {url: 'http://h/'}\n      command: {argv: [/bin/true]}\n",
        ),
        ["r.yml:11: rules[0].action: needs exactly one of command, http"],
    ),
    (
        AUTH + "rules:\n" + RULE,
        [
            "r.yml:4: rules[0].verify: verifying needs the top-level verify section "
            "(probe_url), or set verify: false"
        ],
    ),
    (
        AUTH + VERIFY + "rules:\n" + RULE + "    cooldown: 5\n",
        ["r.yml:13: rules[0].cooldown: duration 5 has no unit: write e.g. 5s"],
    ),
    (
        AUTH + VERIFY + "rules:\n" + RULE + "    max_attempts: 0\n",
        ["r.yml:13: rules[0].max_attempts: Input should be greater than or equal to 1"],
    ),
    (
        AUTH
        + VERIFY
        + "rules:\n"
        + RULE.replace("      service:\n", "      service: {pattern: '['}\n"),
        [
            "r.yml:10: rules[0].placeholders.service.pattern: invalid regular expression: "
            "missing ]: `[`"
        ],
    ),
    (
        AUTH + "verify:\n  probe_url: http://h/probe?target={service}\n" + "rules:\n" + RULE,
        ["r.yml:4: verify.probe_url: probe_url takes no placeholders: the target is the service"],
    ),
    (
        "auth:\n  bearer_token: !file missing-token\n",
        [
            "r.yml:2: auth.bearer_token: cannot read file missing-token: No such file or directory",
            "r.yml:1: rules: needs at least one rule",
        ],
    ),
    (
        AUTH
        + VERIFY
        + "alertmanager:\n  url: ftp://am\n  bearer_token: x\n  basic_auth: {username: u}\n"
        + "rules:\n"
        + RULE,
        [
            "r.yml:6: alertmanager.url: URL scheme must be http or https, not 'ftp'",
            "r.yml:8: alertmanager.basic_auth.password: missing required key",
        ],
    ),
    (
        AUTH
        + VERIFY
        + "alertmanager:\n  url: http://am:9093\n  bearer_token: x\n"
        + "  basic_auth: {username: u, password: p}\n"
        + "rules:\n"
        + RULE,
        ["r.yml:5: alertmanager: bearer_token and basic_auth both are not allowed"],
    ),
    (
        "auth:\n  hmac: {secret: short, header: 'a b', tolerance: 0s}\n"
        + VERIFY
        + "rules:\n"
        + RULE,
        [
            "r.yml:2: auth.hmac.secret: the secret must be at least 16 characters long",
            "r.yml:2: auth.hmac.header: String should match pattern "
            "'^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$'",
            "r.yml:2: auth.hmac.timestamp_header: missing required key",
            "r.yml:2: auth.hmac.tolerance: Input should be greater than 0",
        ],
    ),
    (
        AUTH + VERIFY + "max_actions_per_hour: 0\nrules:\n" + RULE,
        ["r.yml:5: max_actions_per_hour: Input should be greater than or equal to 1"],
    ),
    (
        AUTH + VERIFY + "rules:\n" + RULE + "    dry_run: maybe\n",
        ["r.yml:13: rules[0].dry_run: Input should be a valid boolean, unable to interpret input"],
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_errors_name_file_line_and_key(text: str, expected: list[str], tmp_path: Path) -> None:
    assert errors_of(text, tmp_path) == expected


def test_validate_command_exits_0_or_2_with_the_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.yml"
    good.write_text(GOOD)
    done = subprocess.run(
        [cli("ghost-remediate"), "validate", f"--config.file={good}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, f"{good}: valid, 1 rules\n")

    bad = tmp_path / "bad.yml"
    bad.write_text(AUTH + "rules:\n" + RULE.replace("    match:", "    acton: x\n    match:"))
    done = subprocess.run(
        [cli("ghost-remediate"), "validate", f"--config.file={bad}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == f"invalid configuration:\n{bad}:5: rules[0].acton: unknown key\n"


TEN_MISTAKES = """\
auth:
  bearer_token: !env GHOST_TEST_UNSET_VARIABLE
verify:
  probe_url: http://127.0.0.1:9798/probe
  timeout: soon
defaults:
  max_attempts: 0
rules:
  - name: bad name!
    match: {alertname: A}
    action: {http: {url: 'http://h/'}}
  - name: b
    match: {alertname: B}
    action: {http: {url: 'http://h/', method: FETCH}}
  - name: c
    match: {service: x}
    action: {http: {url: 'http://h/'}}
  - name: c
    match: {alertname: C}
    action: {http: {url: 'http://h/'}}
  - name: e
    match: {alertname: E}
    colour: blue
    action: {http: {url: 'http://h/'}}
  - name: f
    match: {alertname: F}
    match_re: {alertname: F.*}
    action: {http: {url: 'http://h/'}}
  - name: g
    match: {alertname: G}
    verify: false
    verify_timeout: 1m
    action: {http: {url: 'http://h/'}}
"""


def test_ten_independent_mistakes_are_ten_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Field errors, an unset variable and cross-checks of the rules, all in one run."""
    monkeypatch.delenv("GHOST_TEST_UNSET_VARIABLE", raising=False)
    messages = errors_of(TEN_MISTAKES)
    assert len(messages) == 10, "\n".join(messages)
    expected_starts = [
        "r.yml:2: auth.bearer_token: environment variable GHOST_TEST_UNSET_VARIABLE is not set",
        "r.yml:5: verify.timeout: ",
        "r.yml:7: defaults.max_attempts: ",
        "r.yml:9: rules[0].name: ",
        "r.yml:14: rules[1].action.http.method: ",
        "r.yml:15: rules[2]: needs an alertname in match or match_re",
        "r.yml:18: rules[3].name: duplicate rule name 'c' (first used by rules[2])",
        "r.yml:23: rules[4].colour: unknown key",
        "r.yml:27: rules[5].match_re.alertname: label 'alertname' is also in match",
        "r.yml:32: rules[6].verify_timeout: set, but verify is false",
    ]
    for start in expected_starts:
        assert sum(m.startswith(start) for m in messages) == 1, (start, messages)
