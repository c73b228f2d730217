"""The pydantic schema of remediate.yml: unknown keys refused, every value typed."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from ghost_common.fields import Duration, PositiveDuration
from ghost_common.schema import BasicAuth, HTTPMethod, LabelName, Name, Regex, TLSConfig

from .templates import DEFAULT_REGEX, TemplateError, parse

#: Shortest bearer token accepted: a guessable token is no authentication.
MIN_TOKEN_LENGTH = 16
PlaceholderName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
NonNegativeDuration = Annotated[Duration, Field(ge=0)]


def check_url(value: str) -> str:
    """An http(s) URL with a host and no credentials; placeholders count as plain text."""
    try:
        template = parse(value)
    except TemplateError as exc:
        raise ValueError(str(exc)) from None
    text = template.render({name: "x" for name in template.names})
    if any(c.isspace() for c in text):
        raise ValueError("invalid URL: contains white space")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"invalid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"URL scheme must be http or https, not {parts.scheme!r}")
    if not parts.hostname:
        raise ValueError("URL has no host")
    if port == 0:
        raise ValueError("URL port must be between 1 and 65535")
    if parts.username or parts.password:
        raise ValueError("credentials in URLs are not allowed: use headers")
    return value


def check_fixed_url(value: str, what: str, why: str = "") -> str:
    """:func:`check_url` for a URL that takes no placeholders."""
    if "{" in value or "}" in value:
        raise ValueError(f"{what} no placeholders{why}")
    return check_url(value)


def _check_template(value: str) -> str:
    try:
        parse(value)
    except TemplateError as exc:
        raise ValueError(str(exc)) from None
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


def _bcrypt_hash(value: SecretStr) -> SecretStr:
    secret = value.get_secret_value()
    if len(secret) != 60 or secret[:4] not in ("$2a$", "$2b$", "$2y$"):
        raise ValueError("must be a bcrypt hash ($2b$..., 60 characters), not a password")
    return value


BcryptHash = Annotated[SecretStr, AfterValidator(_bcrypt_hash)]
UserName = Annotated[str, Field(pattern=r"^[^:\s]{1,256}$")]


HeaderName = Annotated[str, Field(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$")]


class HMACAuth(_Model):
    """A signature of the body, as Grafana's webhook contact point sends it: the lowercase hex
    HMAC-SHA256 of ``TIMESTAMP:BODY`` under ``secret``, with the Unix time in a header."""

    secret: SecretStr
    header: HeaderName = "X-Grafana-Alerting-Signature"
    timestamp_header: HeaderName
    tolerance: PositiveDuration = 300.0

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < MIN_TOKEN_LENGTH:
            raise ValueError(f"the secret must be at least {MIN_TOKEN_LENGTH} characters long")
        return value


class Auth(_Model):
    """Who may post notifications: a bearer token, basic auth users (bcrypt hashes), a signed
    body (hmac), or several."""

    bearer_token: SecretStr | None = None
    basic_auth_users: dict[UserName, BcryptHash] = Field(default_factory=dict)
    hmac: HMACAuth | None = None

    @field_validator("bearer_token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_TOKEN_LENGTH:
            raise ValueError(f"the token must be at least {MIN_TOKEN_LENGTH} characters long")
        return value

    @model_validator(mode="after")
    def _some(self) -> Auth:
        if self.bearer_token is None and not self.basic_auth_users and self.hmac is None:
            raise ValueError("needs bearer_token, basic_auth_users or hmac")
        return self


class Verify(_Model):
    """How to tell that a remediation worked: the exporter's /probe says up and healthy."""

    probe_url: str
    timeout: PositiveDuration = 60.0
    interval: PositiveDuration = 1.0
    request_timeout: PositiveDuration = 5.0
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    tls_config: TLSConfig = Field(default_factory=TLSConfig)

    @field_validator("probe_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_fixed_url(value, "probe_url takes", ": the target is the service")


class AlertmanagerAPI(_Model):
    """Where silences are created while a remediation runs: Alertmanager's API v2."""

    url: Annotated[str, AfterValidator(lambda value: check_fixed_url(value, "url takes"))]
    bearer_token: SecretStr | None = None
    basic_auth: BasicAuth | None = None
    tls_config: TLSConfig = Field(default_factory=TLSConfig)
    timeout: PositiveDuration = 5.0

    @model_validator(mode="after")
    def _one_credential(self) -> AlertmanagerAPI:
        if self.bearer_token is not None and self.basic_auth is not None:
            raise ValueError("bearer_token and basic_auth both are not allowed")
        return self


class Defaults(_Model):
    cooldown: NonNegativeDuration = 300.0
    max_attempts: Annotated[int, Field(ge=1)] = 3
    window: PositiveDuration = 3600.0


class PlaceholderSpec(_Model):
    label: LabelName | None = None
    pattern: Regex = DEFAULT_REGEX


class CommandAction(_Model):
    argv: Annotated[list[str], Field(min_length=1)]
    timeout: PositiveDuration = 30.0
    kill_grace: NonNegativeDuration = 2.0
    env: dict[EnvName, str] = Field(default_factory=dict)

    @field_validator("argv")
    @classmethod
    def _argv(cls, value: list[str]) -> list[str]:
        for item in value:
            _check_template(item)
        if not value[0]:
            raise ValueError("the program (argv[0]) is empty")
        return value


class HTTPAction(_Model):
    url: str
    method: HTTPMethod = "POST"
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    body: str | None = None
    timeout: PositiveDuration = 10.0
    tls_config: TLSConfig = Field(default_factory=TLSConfig)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value)


class Action(_Model):
    command: CommandAction | None = None
    http: HTTPAction | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Action:
        if (self.command is None) == (self.http is None):
            raise ValueError("needs exactly one of command, http")
        return self


class Rule(_Model):
    name: Name
    match: dict[LabelName, str] = Field(default_factory=dict)
    match_re: dict[LabelName, Regex] = Field(default_factory=dict)
    service_label: LabelName = "service"
    placeholders: dict[PlaceholderName, PlaceholderSpec] = Field(default_factory=dict)
    action: Action
    cooldown: NonNegativeDuration | None = None
    max_attempts: Annotated[int, Field(ge=1)] | None = None
    window: PositiveDuration | None = None
    verify: bool = True
    verify_timeout: PositiveDuration | None = None
    dry_run: bool = False

    @model_validator(mode="before")
    @classmethod
    def _null_placeholders(cls, data: Any) -> Any:
        """``service:`` with no value means the defaults, as ``service: {}``."""
        if isinstance(data, dict) and isinstance(data.get("placeholders"), dict):
            data = dict(data)
            data["placeholders"] = {
                k: {} if v is None else v for k, v in data["placeholders"].items()
            }
        return data


class ConfigFile(_Model):
    auth: Auth
    verify: Verify | None = None
    alertmanager: AlertmanagerAPI | None = None
    defaults: Defaults = Field(default_factory=Defaults)
    max_actions_per_hour: Annotated[int, Field(ge=1)] = 10
    rules: list[Rule] = Field(default_factory=list)
