"""The pydantic schema of the configuration file: one model per probe kind, unknown keys refused."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    SecretStr,
    field_validator,
    model_validator,
)

from ghost_common.cel import Expression, compile_expression
from ghost_common.fields import Duration as Duration
from ghost_common.fields import PositiveDuration as PositiveDuration
from ghost_common.fields import Size as Size
from ghost_common.schema import (
    BasicAuth,
    BinaryRegex,
    HTTPMethod,
    LabelName,
    Name,
    Regex,
    TLSConfig,
)


def _cel(value: Any) -> Expression:
    """Compiled when the config is loaded; CelError is a ValueError."""
    if isinstance(value, Expression):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a CEL expression")
    return compile_expression(value)


def _headers(value: Any) -> Any:
    if isinstance(value, dict):
        for name, text in value.items():
            if not isinstance(name, str) or not _TOKEN.fullmatch(name):
                raise ValueError(f"invalid header name {name!r}")
            raw = text.get_secret_value() if isinstance(text, SecretStr) else text
            if isinstance(raw, str) and any(c in raw for c in "\r\n\0"):
                raise ValueError(f"header {name} has a line break or NUL in its value")
    return value


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
Headers = Annotated[dict[str, SecretStr], BeforeValidator(_headers)]
CelExpression = Annotated[Expression, PlainValidator(_cel)]
HealthState = Literal["healthy", "degraded", "unhealthy", "unknown"]


def _check_url(value: str, schemes: tuple[str, ...]) -> str:
    if any(c.isspace() for c in value):
        raise ValueError("invalid URL: contains white space")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"invalid URL: {exc}") from None
    if parts.scheme not in schemes:
        raise ValueError(f"URL scheme must be one of {', '.join(schemes)}, not {parts.scheme!r}")
    if not parts.hostname:
        raise ValueError("URL has no host")
    if port == 0:
        raise ValueError("URL port must be between 1 and 65535")
    if parts.username or parts.password:
        raise ValueError("credentials in URLs are not allowed: use basic_auth")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Assertion(_Model):
    """A CEL expression over the JSON ``body``: false (or an error) degrades or fails the probe."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
    cel: CelExpression
    on_fail: Literal["degrade", "fail"] = "fail"


def _unique_names(value: list[Assertion]) -> list[Assertion]:
    seen: set[str] = set()
    for assertion in value:
        if assertion.name in seen:
            raise ValueError(f"duplicate assertion name {assertion.name!r}")
        seen.add(assertion.name)
    return value


#: At most this many assertions per target.
MAX_ASSERTIONS = 32
Assertions = Annotated[
    list[Assertion], Field(max_length=MAX_ASSERTIONS), AfterValidator(_unique_names)
]


class HTTPProbe(_Model):
    url: str
    method: HTTPMethod = "GET"
    headers: Headers = Field(default_factory=dict)
    body: str | None = None
    basic_auth: BasicAuth | None = None
    valid_status_codes: list[Annotated[int, Field(ge=100, le=599)]] = Field(default_factory=list)
    follow_redirects: bool = True
    max_redirects: Annotated[int, Field(ge=0, le=100)] = 10
    allow_external_redirects: bool = False
    tls_config: TLSConfig = Field(default_factory=TLSConfig)
    health_field: str | None = Field(default=None, min_length=1)
    health_map: dict[str, HealthState] = Field(default_factory=dict)
    body_regex: Regex | None = None
    body_not_regex: Regex | None = None
    max_body_bytes: Size = 1024 * 1024
    keepalive: bool = False
    assertions: Assertions = Field(default_factory=list)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_url(value, ("http", "https"))


class WebSocketProbe(_Model):
    url: str
    headers: Headers = Field(default_factory=dict)
    send: str | None = None
    expect_fields: dict[str, Any] = Field(default_factory=dict)
    timestamp_field: str | None = Field(default=None, min_length=1)
    max_lag: PositiveDuration | None = None
    max_message_bytes: Size = 1024 * 1024
    tls_config: TLSConfig = Field(default_factory=TLSConfig)
    assertions: Assertions = Field(default_factory=list)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_url(value, ("ws", "wss"))


class TCPProbe(_Model):
    address: str
    send: str | None = None
    expect: BinaryRegex | None = None
    tls: bool = False
    tls_config: TLSConfig = Field(default_factory=TLSConfig)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        split_address(value)
        return value


def split_address(value: str) -> tuple[str, int]:
    """Split ``host:port`` or ``[v6]:port`` into host and port."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not host:
        raise ValueError(f"address {value!r} must be host:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"address {value!r} has no valid port (1-65535)")
    return host, int(port_text)


class Defaults(_Model):
    interval: PositiveDuration = 15.0
    timeout: PositiveDuration = 5.0


class _Target(_Model):
    name: Name
    labels: dict[LabelName, str] = Field(default_factory=dict)
    interval: PositiveDuration | None = None
    timeout: PositiveDuration | None = None


#: The most retries a target may make within one probe.
MAX_RETRIES = 10


class _Rechecked(_Target):
    """A target probed faster while it fails (``interval_when_failing``)."""

    interval_when_failing: PositiveDuration | None = None


class Service(_Rechecked):
    retries: Annotated[int, Field(ge=0, le=MAX_RETRIES, strict=True)] = 0
    retry_delay: Duration = Field(default=0.2, ge=0)
    http: HTTPProbe | None = None
    websocket: WebSocketProbe | None = None
    tcp: TCPProbe | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Service:
        kinds = [k for k in ("http", "websocket", "tcp") if getattr(self, k) is not None]
        if len(kinds) != 1:
            found = ", ".join(kinds) if kinds else "none"
            raise ValueError(f"needs exactly one of http, websocket, tcp (found: {found})")
        return self


class Daemon(_Rechecked):
    url: str
    headers: Headers = Field(default_factory=dict)
    basic_auth: BasicAuth | None = None
    tls_config: TLSConfig = Field(default_factory=TLSConfig)
    max_body_bytes: Size = 1024 * 1024

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_url(value, ("http", "https"))


#: The one placeholder of a pipeline's emit request, replaced by each round's canary id.
CANARY = "{{canary}}"
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}")


def _no_placeholder(value: str) -> str:
    if "{{" in value:
        raise ValueError(
            f"{CANARY} is only replaced in the emit request's body and headers, not here"
        )
    return value


def _only_canary(value: str) -> str:
    for found in _PLACEHOLDER.findall(value):
        if found != CANARY:
            raise ValueError(f"unknown placeholder {found!r}: only {CANARY} is replaced")
    return value


def _plain_headers(value: dict[str, SecretStr]) -> dict[str, SecretStr]:
    for text in value.values():
        _no_placeholder(text.get_secret_value())
    return value


def _canary_headers(value: dict[str, SecretStr]) -> dict[str, SecretStr]:
    for text in value.values():
        _only_canary(text.get_secret_value())
    return value


def _plain_url(*schemes: str) -> AfterValidator:
    return AfterValidator(lambda value: _no_placeholder(_check_url(value, schemes)))


#: Reporter and pipeline URLs and headers: ``{{canary}}`` is refused in them (emit headers aside).
PlainHTTPURL = Annotated[str, _plain_url("http", "https")]
PlainWSURL = Annotated[str, _plain_url("ws", "wss")]
PlainHeaders = Annotated[Headers, AfterValidator(_plain_headers)]
CanaryHeaders = Annotated[Headers, AfterValidator(_canary_headers)]
PlainText = Annotated[str, AfterValidator(_no_placeholder)]
CanaryText = Annotated[str, AfterValidator(_only_canary)]
StatusCodes = list[Annotated[int, Field(ge=100, le=599)]]


class ReporterHTTP(_Model):
    """Where a reporter's claims are read, and how its answer is laid out."""

    url: PlainHTTPURL
    headers: PlainHeaders = Field(default_factory=dict)
    basic_auth: BasicAuth | None = None
    valid_status_codes: StatusCodes = Field(default_factory=list)
    tls_config: TLSConfig = Field(default_factory=TLSConfig)
    max_body_bytes: Size = 1024 * 1024
    services_field: str = Field(default="services", min_length=1)
    name_field: str = Field(default="name", min_length=1)
    state_field: str = Field(default="status", min_length=1)
    health_map: dict[str, HealthState] = Field(default_factory=dict)


class Reporter(_Target):
    """Another monitor whose claims about the services are compared with the exporter's view."""

    http: ReporterHTTP


class EmitHTTP(_Model):
    """The request that sends a canary in; ``{{canary}}`` in body and headers is its id."""

    url: PlainHTTPURL
    method: HTTPMethod = "POST"
    headers: CanaryHeaders = Field(default_factory=dict)
    body: CanaryText | None = None
    basic_auth: BasicAuth | None = None
    valid_status_codes: StatusCodes = Field(default_factory=list)
    tls_config: TLSConfig = Field(default_factory=TLSConfig)
    max_body_bytes: Size = 64 * 1024

    @model_validator(mode="after")
    def _carries_canary(self) -> EmitHTTP:
        in_headers = any(CANARY in v.get_secret_value() for v in self.headers.values())
        if CANARY not in (self.body or "") and not in_headers:
            raise ValueError(f"the body or a header must carry {CANARY}")
        return self


class Emit(_Model):
    http: EmitHTTP


class WebSocketObserver(_Model):
    """A feed watched over one persistent connection for any message containing the canary."""

    url: PlainWSURL
    headers: PlainHeaders = Field(default_factory=dict)
    send: PlainText | None = None
    max_message_bytes: Size = 1024 * 1024
    tls_config: TLSConfig = Field(default_factory=TLSConfig)


class HTTPObserver(_Model):
    """An endpoint polled until its body contains the canary."""

    url: PlainHTTPURL
    headers: PlainHeaders = Field(default_factory=dict)
    basic_auth: BasicAuth | None = None
    poll: PositiveDuration = 0.25
    max_body_bytes: Size = 1024 * 1024
    tls_config: TLSConfig = Field(default_factory=TLSConfig)


class Observer(_Model):
    name: Name
    websocket: WebSocketObserver | None = None
    http: HTTPObserver | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Observer:
        kinds = [k for k in ("websocket", "http") if getattr(self, k) is not None]
        if len(kinds) != 1:
            found = ", ".join(kinds) if kinds else "none"
            raise ValueError(f"needs exactly one of websocket, http (found: {found})")
        return self


class Pipeline(_Target):
    """A canary sent in at one end (``emit``) and watched for at the other (``observe``)."""

    deadline: PositiveDuration = 5.0
    emit: Emit
    observe: list[Observer] = Field(min_length=1, max_length=64)


class ConfigFile(_Model):
    defaults: Defaults = Field(default_factory=Defaults)
    services: list[Service] = Field(default_factory=list)
    daemons: list[Daemon] = Field(default_factory=list)
    reporters: list[Reporter] = Field(default_factory=list)
    pipelines: list[Pipeline] = Field(default_factory=list)
