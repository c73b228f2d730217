"""The parts every kind's pydantic schema is made of: field types (durations, sizes, URLs,
headers, regexes, CEL), TLS and basic auth, the fields every target entry has, and the defaults.

Each kind's own model is in its module (``ghost_exporter.kinds``); the model of the whole file is
built from the table of kinds. Unknown keys are refused everywhere."""

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
    model_validator,
)

from ghost_common.cel import Expression, compile_expression
from ghost_common.fields import Duration as Duration
from ghost_common.fields import PositiveDuration as PositiveDuration
from ghost_common.fields import Size as Size
from ghost_common.schema import (
    LabelName,
    Name,
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


def check_url(value: str, schemes: tuple[str, ...]) -> str:
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


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Assertion(StrictModel):
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


class Defaults(StrictModel):
    interval: PositiveDuration = 15.0
    timeout: PositiveDuration = 5.0


class TargetEntry(StrictModel):
    name: Name
    labels: dict[LabelName, str] = Field(default_factory=dict)
    interval: PositiveDuration | None = None
    timeout: PositiveDuration | None = None


#: The most retries a target may make within one probe.
MAX_RETRIES = 10


class RecheckedEntry(TargetEntry):
    """A target probed faster while it fails (``interval_when_failing``)."""

    interval_when_failing: PositiveDuration | None = None


class ServiceEntry(RecheckedEntry):
    """An entry of ``services``. The table of kinds adds one optional key per service kind
    (``http``, ``websocket``, ``tcp``), of which an entry sets exactly one."""

    retries: Annotated[int, Field(ge=0, le=MAX_RETRIES, strict=True)] = 0
    retry_delay: Duration = Field(default=0.2, ge=0)

    @model_validator(mode="after")
    def _exactly_one(self) -> ServiceEntry:
        keys = [k for k in type(self).model_fields if k not in ServiceEntry.model_fields]
        kinds = [k for k in keys if getattr(self, k) is not None]
        if len(kinds) != 1:
            found = ", ".join(kinds) if kinds else "none"
            raise ValueError(f"needs exactly one of {', '.join(keys)} (found: {found})")
        return self


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
    return AfterValidator(lambda value: _no_placeholder(check_url(value, schemes)))


#: Reporter and pipeline URLs and headers: ``{{canary}}`` is refused in them (emit headers aside).
PlainHTTPURL = Annotated[str, _plain_url("http", "https")]
PlainWSURL = Annotated[str, _plain_url("ws", "wss")]
PlainHeaders = Annotated[Headers, AfterValidator(_plain_headers)]
CanaryHeaders = Annotated[Headers, AfterValidator(_canary_headers)]
PlainText = Annotated[str, AfterValidator(_no_placeholder)]
CanaryText = Annotated[str, AfterValidator(_only_canary)]
StatusCodes = list[Annotated[int, Field(ge=100, le=599)]]
