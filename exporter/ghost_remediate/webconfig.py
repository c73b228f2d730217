"""``--web.config.file``: TLS for a server, in the Prometheus exporter-toolkit format.

    tls_server_config:
      cert_file: server.crt
      key_file: server.key
      client_ca_file: ca.crt                       # with a verifying client_auth_type
      client_auth_type: RequireAndVerifyClientCert # or VerifyClientCertIfGiven, NoClientCert
      min_version: TLS12                           # TLS10, TLS11, TLS12 (default), TLS13
      max_version: TLS13

Relative paths are relative to the file. Errors are ConfigErrors with file, line and key, as the
other config files. Python's ssl module verifies every client certificate it asks for, so the
exporter-toolkit's RequestClientCert and RequireAnyClientCert (ask without verifying) are
refused with a message. Nothing here is specific to one program.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ghost_exporter.config.errors import ConfigError, ErrorDetail, format_path
from ghost_exporter.config.loader import LoadedDocument, load_file, load_text

__all__ = ["TLSServerConfig", "WebConfig", "load_web_config", "parse_web_config", "server_context"]

TLSVersion = Literal["TLS10", "TLS11", "TLS12", "TLS13"]
ClientAuth = Literal[
    "NoClientCert",
    "RequestClientCert",
    "RequireAnyClientCert",
    "VerifyClientCertIfGiven",
    "RequireAndVerifyClientCert",
]
_VERSIONS: Final = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
_VERIFY_MODES: Final = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_UNSUPPORTED_TOP_LEVEL: Final = ("basic_auth_users", "http_server_config")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TLSServerConfig(_Model):
    cert_file: str = Field(min_length=1)
    key_file: str = Field(min_length=1)
    client_ca_file: str | None = None
    client_auth_type: ClientAuth = "NoClientCert"
    min_version: TLSVersion = "TLS12"
    max_version: TLSVersion | None = None

    @model_validator(mode="after")
    def _consistent(self) -> TLSServerConfig:
        if self.client_auth_type in ("RequestClientCert", "RequireAnyClientCert"):
            raise ValueError(
                f"client_auth_type {self.client_auth_type} is not supported (a client "
                "certificate is always verified): use VerifyClientCertIfGiven or "
                "RequireAndVerifyClientCert"
            )
        verifying = self.client_auth_type != "NoClientCert"
        if verifying and self.client_ca_file is None:
            raise ValueError(f"client_auth_type {self.client_auth_type} needs client_ca_file")
        if not verifying and self.client_ca_file is not None:
            raise ValueError(
                "client_ca_file is set but client_auth_type is NoClientCert: "
                "set VerifyClientCertIfGiven or RequireAndVerifyClientCert"
            )
        if self.max_version is not None and self.max_version < self.min_version:
            raise ValueError(f"max_version {self.max_version} is below min_version")
        return self


class _WebConfigFile(_Model):
    tls_server_config: TLSServerConfig | None = None


@dataclass(frozen=True, slots=True)
class WebConfig:
    """A parsed web config; ``tls`` is None for plain HTTP. ``base_dir`` resolves its files."""

    tls: TLSServerConfig | None
    base_dir: Path
    source: str


def _document(doc: LoadedDocument, base_dir: Path) -> WebConfig:
    data = {} if doc.data is None else doc.data
    if not isinstance(data, dict):
        raise ConfigError(
            [ErrorDetail(doc.file, doc.line_of(()), "", "the top level must be a mapping")]
        )
    details = [
        ErrorDetail(
            doc.file,
            doc.line_of((key,)),
            key,
            "not supported here: this web config file only sets TLS (tls_server_config)",
        )
        for key in _UNSUPPORTED_TOP_LEVEL
        if key in data
    ]
    data = {k: v for k, v in data.items() if k not in _UNSUPPORTED_TOP_LEVEL}
    try:
        parsed = _WebConfigFile.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_input=False, include_url=False):
            loc = tuple(err["loc"])
            message = {"extra_forbidden": "unknown key", "missing": "missing required key"}.get(
                err["type"], err["msg"]
            )
            details.append(
                ErrorDetail(
                    doc.file,
                    doc.line_of(loc),
                    format_path(loc),
                    message.removeprefix("Value error, "),
                )
            )
    if details:
        raise ConfigError(details)
    return WebConfig(parsed.tls_server_config, base_dir, doc.file)


def parse_web_config(
    text: str, file: str = "<web config>", base_dir: Path | None = None
) -> WebConfig:
    base = base_dir or Path(".")
    return _document(load_text(text, file, base), base)


def load_web_config(path: str | Path) -> WebConfig:
    """Read and check a web config file; also builds its TLS context once, so that a missing or
    unreadable certificate is reported now, naming the key."""
    config = _document(load_file(path), Path(path).parent)
    server_context(config)
    return config


def server_context(config: WebConfig) -> ssl.SSLContext | None:
    """The server SSL context of ``config``, or None for plain HTTP."""
    tls = config.tls
    if tls is None:
        return None

    def resolve(name: str) -> str:
        return str(config.base_dir / name)

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError([ErrorDetail(config.source, None, f"tls_server_config.{key}", message)])

    files = {"cert_file": tls.cert_file, "key_file": tls.key_file}
    if tls.client_ca_file is not None:
        files["client_ca_file"] = tls.client_ca_file
    for key, name in files.items():
        try:
            with open(resolve(name), "rb"):
                pass
        except OSError as exc:
            raise fail(key, f"cannot read {resolve(name)}: {exc.strerror}") from None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = _VERSIONS[tls.min_version]
    if tls.max_version is not None:
        ctx.maximum_version = _VERSIONS[tls.max_version]
    try:
        ctx.load_cert_chain(resolve(tls.cert_file), resolve(tls.key_file))
    except (OSError, ssl.SSLError) as exc:
        raise fail("cert_file", f"cannot load the certificate and key: {exc}") from None
    ctx.verify_mode = _VERIFY_MODES[tls.client_auth_type]
    if tls.client_ca_file is not None:
        try:
            ctx.load_verify_locations(cafile=resolve(tls.client_ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise fail("client_ca_file", f"cannot load: {exc}") from None
    return ctx
