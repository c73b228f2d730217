"""The web configuration file's schema (exporter-toolkit's format) and the validated result."""

from __future__ import annotations

import re
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr

from ghost_common.fields import Duration

#: exporter-toolkit's TLS versions.
TLS_VERSIONS: dict[str, ssl.TLSVersion] = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
#: Go's names of the cipher suites exporter-toolkit accepts, and OpenSSL's names for them. The
#: TLS 1.3 suites are not configurable (in Go as here): they are accepted and have no effect.
CIPHER_SUITES: dict[str, str | None] = {
    "TLS_AES_128_GCM_SHA256": None,
    "TLS_AES_256_GCM_SHA384": None,
    "TLS_CHACHA20_POLY1305_SHA256": None,
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
}
#: Go's curve names and OpenSSL's.
CURVES: dict[str, str] = {
    "CurveP256": "prime256v1",
    "CurveP384": "secp384r1",
    "CurveP521": "secp521r1",
    "X25519": "X25519",
}
#: The response headers exporter-toolkit lets a file set, with their allowed values (None: any).
HEADERS: dict[str, tuple[str, ...] | None] = {
    "Strict-Transport-Security": None,
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": None,
    "Content-Security-Policy": None,
}
#: A bcrypt hash ($2a$, $2b$ or $2y$, cost 4 to 31), as htpasswd -B writes it.
BCRYPT_HASH = re.compile(r"^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$")

ClientAuthType = Literal[
    "NoClientCert",
    "RequestClientCert",
    "RequireAnyClientCert",
    "RequireClientCert",
    "VerifyClientCertIfGiven",
    "RequireAndVerifyClientCert",
]
TLSVersionName = Literal["TLS10", "TLS11", "TLS12", "TLS13"]


def _known(table: Mapping[str, object], what: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not isinstance(value, str) or value not in table:
            raise ValueError(f"unknown {what} {value!r}")
        return value

    return check


def _empty(value: Any) -> Any:
    """A key written without a value (``headers:``) means its default, as in Go's YAML."""
    return {} if value is None else value


Section = BeforeValidator(_empty)
CipherName = Annotated[str, BeforeValidator(_known(CIPHER_SUITES, "cipher"))]
CurveName = Annotated[str, BeforeValidator(_known(CURVES, "curve"))]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TLSServerConfig(_Model):
    cert: str | None = None
    key: SecretStr | None = None
    client_ca: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    client_auth_type: ClientAuthType = "NoClientCert"
    client_ca_file: str | None = None
    client_allowed_sans: list[str] | None = None
    min_version: TLSVersionName = "TLS12"
    max_version: TLSVersionName = "TLS13"
    cipher_suites: list[CipherName] = Field(default_factory=list)
    prefer_server_cipher_suites: bool = True
    curve_preferences: list[CurveName] = Field(default_factory=list)

    @property
    def enabled(self) -> bool:
        """TLS is on when any certificate or client-auth key is set (as in exporter-toolkit)."""
        return any(
            (
                self.cert,
                self.key,
                self.client_ca,
                self.cert_file,
                self.key_file,
                self.client_ca_file,
                "client_auth_type" in self.model_fields_set,
            )
        )


class HTTPServerConfig(_Model):
    http2: bool = True
    headers: Annotated[dict[str, str], Section] = Field(default_factory=dict)


class RateLimit(_Model):
    interval: Duration = 0.0
    burst: Annotated[int, Field(ge=0, le=1_000_000)] = 0


class WebConfigFile(_Model):
    tls_server_config: Annotated[TLSServerConfig, Section] = Field(default_factory=TLSServerConfig)
    http_server_config: Annotated[HTTPServerConfig, Section] = Field(
        default_factory=HTTPServerConfig
    )
    basic_auth_users: Annotated[dict[str, SecretStr], Section] = Field(default_factory=dict)
    rate_limit: Annotated[RateLimit, Section] = Field(default_factory=RateLimit)
    ghost_unauthenticated_paths: list[str] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TLSFiles:
    """Where the server certificate comes from: files (rotatable) or inline PEM."""

    cert_file: Path | None
    key_file: Path | None
    cert_pem: str | None
    key_pem: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class WebConfig:
    """A validated web configuration; ``ssl_context()`` is None when TLS is off."""

    source: str
    tls: TLSServerConfig | None
    tls_files: TLSFiles | None
    client_ca_file: Path | None
    users: Mapping[str, bytes] = field(repr=False)
    headers: Mapping[str, str]
    unauthenticated_paths: frozenset[str]
    rate_interval: float
    rate_burst: int
    _context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    @property
    def basic_auth(self) -> bool:
        return bool(self.users)

    def ssl_context(self) -> ssl.SSLContext | None:
        """The server context (built and checked at load). Certificate and key files are checked
        for changes at new connections, at most once a second, and a changed pair is served from
        then on; a pair that does not load keeps the previous one."""
        return self._context


def verifies(client_auth: str) -> bool:
    """Client auth types that verify a certificate here. Python's ssl cannot accept a certificate
    without verifying it: RequireAnyClientCert verifies against the client CA (stricter than Go),
    and RequestClientCert does not ask for one (an unverified certificate grants nothing)."""
    return client_auth in (
        "RequireAnyClientCert",
        "RequireClientCert",
        "VerifyClientCertIfGiven",
        "RequireAndVerifyClientCert",
    )
