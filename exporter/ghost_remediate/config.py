"""remediate.yml: YAML with line marks and ``!env``/``!file`` (the shared loader), the pydantic
schema, cross-checks naming the key and line, and the frozen, compiled result."""

from __future__ import annotations

import base64
import shlex
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import SecretStr

from ghost_common.errors import ConfigError, ErrorDetail, format_path
from ghost_common.loader import LoadedDocument, load_file, load_text, parse_redacted
from ghost_common.regex import Regex
from ghost_common.schema import TLSConfig, client_context
from ghost_common.validate import Staged, validate_staged

from . import schema
from .templates import DEFAULT_REGEX, Template, parse

__all__ = [
    "AlertmanagerSpec",
    "CommandSpec",
    "Config",
    "ConfigError",
    "HMACSpec",
    "HTTPSpec",
    "Matcher",
    "PlaceholderRule",
    "Rule",
    "VerifySpec",
    "load_config",
    "parse_config",
]


@dataclass(frozen=True, slots=True)
class Matcher:
    """``label="value"`` or, with ``regex``, ``label=~"value"`` (anchored, as Alertmanager's)."""

    label: str
    value: str
    regex: Regex | None = None

    def matches(self, labels: Mapping[str, str]) -> bool:
        """A label the alert lacks never matches."""
        found = labels.get(self.label)
        if found is None:
            return False
        if self.regex is not None:
            return self.regex.fullmatch(found)
        return found == self.value

    def __str__(self) -> str:
        return f'{self.label}{"=~" if self.regex else "="}"{self.value}"'


@dataclass(frozen=True, slots=True)
class PlaceholderRule:
    """A placeholder a rule allows: the alert label that fills it and the pattern it must match."""

    name: str
    label: str
    pattern: Regex


@dataclass(frozen=True, slots=True)
class CommandSpec:
    argv: tuple[Template, ...]
    timeout: float
    kill_grace: float
    env: Mapping[str, str]

    def describe(self, values: Mapping[str, str]) -> str:
        return shlex.join(item.render(values) for item in self.argv)


@dataclass(frozen=True, slots=True)
class HTTPSpec:
    method: str
    url: Template
    headers: Mapping[str, str] = field(repr=False)
    body: str | None
    timeout: float
    ssl: ssl.SSLContext | None = field(compare=False, repr=False)
    server_name: str | None = None


@dataclass(frozen=True, slots=True)
class VerifySpec:
    probe_url: str
    timeout: float
    interval: float
    request_timeout: float
    headers: Mapping[str, str] = field(repr=False)
    ssl: ssl.SSLContext | None = field(compare=False, repr=False)
    server_name: str | None = None


@dataclass(frozen=True, slots=True)
class HMACSpec:
    """Signed notifications: the secret, the signature and timestamp headers, the tolerance."""

    secret: bytes = field(repr=False)
    header: str
    timestamp_header: str
    tolerance: float


@dataclass(frozen=True, slots=True)
class AlertmanagerSpec:
    """Alertmanager's API, for silences while a remediation runs."""

    url: str
    headers: Mapping[str, str] = field(repr=False)
    timeout: float
    ssl: ssl.SSLContext | None = field(compare=False, repr=False)
    server_name: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    matchers: tuple[Matcher, ...]
    service_label: str
    placeholders: tuple[PlaceholderRule, ...]
    action: CommandSpec | HTTPSpec
    cooldown: float
    max_attempts: int
    window: float
    verify_timeout: float | None  # None: no verification
    dry_run: bool = False

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    def service_pattern(self) -> Regex:
        """The pattern the service label's value must match (it names metric series)."""
        for placeholder in self.placeholders:
            if placeholder.label == self.service_label:
                return placeholder.pattern
        return DEFAULT_REGEX


@dataclass(frozen=True, slots=True)
class Config:
    bearer_token: str | None = field(repr=False)
    basic_auth_users: Mapping[str, bytes] = field(repr=False)
    verify: VerifySpec | None
    rules: tuple[Rule, ...]
    source: str = "<config>"
    max_actions_per_hour: int = 10
    alertmanager: AlertmanagerSpec | None = None
    hmac: HMACSpec | None = field(default=None, repr=False)


class _Checks:
    """Collects cross-check problems with their key path and line."""

    def __init__(self, doc: LoadedDocument) -> None:
        self.doc = doc
        self.details: list[ErrorDetail] = []

    def add(self, path: tuple[str | int, ...], message: str) -> None:
        self.details.append(
            ErrorDetail(self.doc.file, self.doc.line_of(path), format_path(path), message)
        )


def is_dot_segment(segment: str) -> bool:
    """``.`` or ``..``, also percent-encoded: a path segment that clients and servers remove
    together with the segment before it (RFC 3986, 5.2.4)."""
    return segment.lower().replace("%2e", ".") in (".", "..")


def _url_has_dot_segment(template: Template) -> bool:
    path = urlsplit(template.render({name: "x" for name in template.names})).path
    return any(is_dot_segment(segment) for segment in path.split("/"))


def _url_placeholders_after_host(template: Template) -> bool:
    if not template.names:
        return True
    prefix = template.literal_prefix
    parts = urlsplit(prefix)
    return bool(parts.netloc) and (parts.path.startswith("/") or "?" in prefix)


def _cross_checks(doc: LoadedDocument, staged: Staged[schema.ConfigFile]) -> list[ErrorDetail]:
    """Checks across keys, over every part that validated (a bad rule hides nothing)."""
    checks = _Checks(doc)
    if staged.fields.get("rules") == []:
        checks.add(("rules",), "needs at least one rule")
    # The verify section when it validated (None: absent); unknown when it did not.
    verify_known = "verify" in staged.fields
    seen: dict[str, int] = {}
    rule: schema.Rule
    for index, rule in staged.entries("rules"):
        path: tuple[str | int, ...] = ("rules", index)
        if rule.name in seen:
            checks.add(
                (*path, "name"),
                f"duplicate rule name {rule.name!r} (first used by rules[{seen[rule.name]}])",
            )
        seen.setdefault(rule.name, index)
        if "alertname" not in rule.match and "alertname" not in rule.match_re:
            checks.add(path, "needs an alertname in match or match_re")
        both = sorted(set(rule.match) & set(rule.match_re))
        for label in both:
            checks.add((*path, "match_re", label), f"label {label!r} is also in match")
        declared = set(rule.placeholders)
        if rule.action.command is not None:
            action_path = (*path, "action", "command", "argv")
            for i, item in enumerate(rule.action.command.argv):
                template = parse(item)
                if i == 0 and template.names:
                    checks.add((*action_path, 0), "the program (argv[0]) cannot hold a placeholder")
                for name in sorted(template.names - declared):
                    checks.add((*action_path, i), f"placeholder {{{name}}} is not in placeholders")
        if rule.action.http is not None:
            url_path = (*path, "action", "http", "url")
            template = parse(rule.action.http.url)
            for name in sorted(template.names - declared):
                checks.add(url_path, f"placeholder {{{name}}} is not in placeholders")
            if not _url_placeholders_after_host(template):
                checks.add(url_path, "placeholders may only stand in the path or the query")
            if _url_has_dot_segment(template):
                checks.add(
                    url_path,
                    "the path holds a '.' or '..' segment: write the path the request should go to",
                )
        if rule.verify and verify_known and staged.fields["verify"] is None:
            checks.add(
                (*path, "verify"),
                "verifying needs the top-level verify section (probe_url), or set verify: false",
            )
        if not rule.verify and rule.verify_timeout is not None:
            checks.add((*path, "verify_timeout"), "set, but verify is false")
    return checks.details


def _secrets(headers: Mapping[str, SecretStr]) -> dict[str, str]:
    return {key: value.get_secret_value() for key, value in headers.items()}


def _ssl_or_detail(
    checks: _Checks, path: tuple[str | int, ...], tls: TLSConfig, url: str, base_dir: Path
) -> ssl.SSLContext | None:
    if not url.startswith("https:") and tls == TLSConfig():
        return None
    try:
        return client_context(tls, base_dir)
    except (OSError, ssl.SSLError) as exc:
        checks.add((*path, "tls_config"), f"cannot load: {exc}")
        return None


def _build(doc: LoadedDocument, parsed: schema.ConfigFile, base_dir: Path) -> Config:
    checks = _Checks(doc)
    verify = None
    if parsed.verify is not None:
        v = parsed.verify
        verify = VerifySpec(
            probe_url=v.probe_url,
            timeout=v.timeout,
            interval=v.interval,
            request_timeout=v.request_timeout,
            headers=_secrets(v.headers),
            ssl=_ssl_or_detail(checks, ("verify",), v.tls_config, v.probe_url, base_dir),
            server_name=v.tls_config.server_name,
        )
    alertmanager = None
    if parsed.alertmanager is not None:
        am = parsed.alertmanager
        headers = {}
        if am.bearer_token is not None:
            headers["Authorization"] = f"Bearer {am.bearer_token.get_secret_value()}"
        elif am.basic_auth is not None:
            credentials = f"{am.basic_auth.username}:{am.basic_auth.password.get_secret_value()}"
            headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
        alertmanager = AlertmanagerSpec(
            url=am.url,
            headers=headers,
            timeout=am.timeout,
            ssl=_ssl_or_detail(checks, ("alertmanager",), am.tls_config, am.url, base_dir),
            server_name=am.tls_config.server_name,
        )
    defaults = parsed.defaults
    rules = []
    for index, rule in enumerate(parsed.rules):
        action: CommandSpec | HTTPSpec
        if rule.action.command is not None:
            command = rule.action.command
            action = CommandSpec(
                argv=tuple(parse(item) for item in command.argv),
                timeout=command.timeout,
                kill_grace=command.kill_grace,
                env=dict(command.env),
            )
        else:
            http = rule.action.http
            assert http is not None
            action = HTTPSpec(
                method=http.method,
                url=parse(http.url),
                headers=_secrets(http.headers),
                body=http.body,
                timeout=http.timeout,
                ssl=_ssl_or_detail(
                    checks, ("rules", index, "action", "http"), http.tls_config, http.url, base_dir
                ),
                server_name=http.tls_config.server_name,
            )
        matchers = [Matcher(label, value) for label, value in sorted(rule.match.items())]
        matchers += [
            Matcher(label, regex.pattern, regex) for label, regex in sorted(rule.match_re.items())
        ]
        rules.append(
            Rule(
                name=rule.name,
                matchers=tuple(matchers),
                service_label=rule.service_label,
                placeholders=tuple(
                    PlaceholderRule(name, spec.label or name, spec.pattern)
                    for name, spec in sorted(rule.placeholders.items())
                ),
                action=action,
                cooldown=defaults.cooldown if rule.cooldown is None else rule.cooldown,
                max_attempts=rule.max_attempts or defaults.max_attempts,
                window=rule.window or defaults.window,
                verify_timeout=(
                    None
                    if not rule.verify
                    else rule.verify_timeout or (parsed.verify.timeout if parsed.verify else None)
                ),
                dry_run=rule.dry_run,
            )
        )
    if checks.details:
        raise ConfigError(checks.details)
    token = parsed.auth.bearer_token
    return Config(
        bearer_token=None if token is None else token.get_secret_value(),
        basic_auth_users={
            user: hashed.get_secret_value().encode()
            for user, hashed in parsed.auth.basic_auth_users.items()
        },
        verify=verify,
        rules=tuple(rules),
        source=doc.file,
        max_actions_per_hour=parsed.max_actions_per_hour,
        alertmanager=alertmanager,
        hmac=None
        if parsed.auth.hmac is None
        else HMACSpec(
            secret=parsed.auth.hmac.secret.get_secret_value().encode(),
            header=parsed.auth.hmac.header,
            timestamp_header=parsed.auth.hmac.timestamp_header,
            tolerance=parsed.auth.hmac.tolerance,
        ),
    )


def parse_document(doc: LoadedDocument, base_dir: Path) -> Config:
    """Validate loaded YAML into a Config, or raise ConfigError with every problem.

    No message shows a value read through ``!env`` or ``!file``."""
    return parse_redacted(doc, lambda loaded: _parse_document(loaded, base_dir))


def _parse_document(doc: LoadedDocument, base_dir: Path) -> Config:
    staged = validate_staged(doc, schema.ConfigFile)
    details = staged.details + _cross_checks(doc, staged)
    if details or staged.model is None:
        raise ConfigError(details)
    return _build(doc, staged.model, base_dir)


def parse_config(text: str, file: str = "<config>", base_dir: Path | None = None) -> Config:
    """Parse configuration text (tests)."""
    base = base_dir or Path(".")
    return parse_document(load_text(text, file, base), base)


def load_config(path: str | Path) -> Config:
    """Load and validate remediate.yml; ``!file`` and TLS files are relative to it."""
    return parse_document(load_file(path), Path(path).parent)
