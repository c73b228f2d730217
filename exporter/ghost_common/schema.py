"""Config types every program's schema shares: names, label names, HTTP methods, RE2 patterns,
and a TLS client's options (``tls_config``) with the client context they build."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, SecretStr, model_validator

from ghost_common.regex import Regex as CompiledRegex
from ghost_common.regex import compile_regex

__all__ = [
    "BasicAuth",
    "BinaryRegex",
    "HTTPMethod",
    "LabelName",
    "Name",
    "Regex",
    "TLSConfig",
    "client_context",
]


def _regex(value: Any, binary: bool = False) -> CompiledRegex:
    """Compiled with RE2 once, when the config is loaded; RegexError is a ValueError."""
    if isinstance(value, CompiledRegex) and value.binary == binary:
        return value
    if not isinstance(value, str):
        raise ValueError("expected a regular expression")
    return compile_regex(value, binary=binary)


def _binary_regex(value: Any) -> CompiledRegex:
    return _regex(value, binary=True)


Regex = Annotated[CompiledRegex, PlainValidator(_regex)]
BinaryRegex = Annotated[CompiledRegex, PlainValidator(_binary_regex)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
LabelName = Annotated[str, Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]{0,127}$")]
HTTPMethod = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class TLSConfig(_Model):
    """TLS client options, as blackbox_exporter's ``tls_config``."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    server_name: str | None = None
    insecure_skip_verify: bool = False

    @model_validator(mode="after")
    def _cert_and_key(self) -> TLSConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file must be set together")
        return self


class BasicAuth(_Model):
    """Credentials a client sends (``basic_auth: {username, password}``)."""

    username: str = Field(min_length=1)
    password: SecretStr


def client_context(tls: TLSConfig, base_dir: Path | None = None) -> ssl.SSLContext:
    """A client context for ``tls``; relative file names are taken from ``base_dir`` when given
    (else from the working directory). Raises OSError or ssl.SSLError when a file does not load."""

    def resolve(name: str) -> str:
        return name if base_dir is None else str(base_dir / name)

    ctx = ssl.create_default_context(cafile=None if tls.ca_file is None else resolve(tls.ca_file))
    if tls.cert_file and tls.key_file:
        ctx.load_cert_chain(resolve(tls.cert_file), resolve(tls.key_file))
    if tls.insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx
