"""Loading a web config file: line-numbered errors for every problem, TLS checked at load."""

from __future__ import annotations

from pathlib import Path

from ghost_common.errors import ConfigError, ErrorDetail, format_path
from ghost_common.loader import LoadedDocument, load_file, load_text, parse_redacted
from ghost_common.validate import validate_document
from ghost_common.webconfig.model import (
    BCRYPT_HASH,
    HEADERS,
    TLS_VERSIONS,
    TLSFiles,
    WebConfig,
    WebConfigFile,
    verifies,
)
from ghost_common.webconfig.tls import TLSLoadError, server_context


def _detail(doc: LoadedDocument, path: tuple[str | int, ...], message: str) -> ErrorDetail:
    return ErrorDetail(doc.file, doc.line_of(path), format_path(path), message)


def _resolve(base: Path, name: str | None) -> Path | None:
    if name is None:
        return None
    path = Path(name)
    return path if path.is_absolute() else base / path


def _check(doc: LoadedDocument, parsed: WebConfigFile) -> list[ErrorDetail]:
    details: list[ErrorDetail] = []
    tls = parsed.tls_server_config
    t = ("tls_server_config",)
    if tls.enabled:
        pairs = (("cert", "cert_file"), ("key", "key_file"), ("client_ca", "client_ca_file"))
        for inline, file in pairs:
            if getattr(tls, inline) is not None and getattr(tls, file) is not None:
                details.append(_detail(doc, (*t, file), f"{inline} and {file} are exclusive"))
        if tls.cert is None and tls.cert_file is None:
            details.append(_detail(doc, t, "missing one of cert or cert_file"))
        if tls.key is None and tls.key_file is None:
            details.append(_detail(doc, t, "missing one of key or key_file"))
        has_ca = tls.client_ca is not None or tls.client_ca_file is not None
        if has_ca and tls.client_auth_type == "NoClientCert":
            details.append(
                _detail(
                    doc,
                    (*t, "client_ca_file" if tls.client_ca_file else "client_ca"),
                    "a client CA is set but client_auth_type is NoClientCert",
                )
            )
        if verifies(tls.client_auth_type) and not has_ca:
            details.append(
                _detail(
                    doc,
                    (*t, "client_auth_type"),
                    f"{tls.client_auth_type} needs client_ca_file or client_ca",
                )
            )
        strict = ("RequireAnyClientCert", "RequireClientCert", "RequireAndVerifyClientCert")
        if tls.client_allowed_sans is not None and tls.client_auth_type not in strict:
            details.append(
                _detail(
                    doc,
                    (*t, "client_allowed_sans"),
                    "client_allowed_sans needs client_auth_type RequireAnyClientCert or "
                    "RequireAndVerifyClientCert",
                )
            )
        if len(tls.curve_preferences) > 1:
            details.append(
                _detail(
                    doc,
                    (*t, "curve_preferences"),
                    "at most one curve: Python's ssl module sets a single group",
                )
            )
        if TLS_VERSIONS[tls.min_version] > TLS_VERSIONS[tls.max_version]:
            details.append(_detail(doc, (*t, "min_version"), "min_version is above max_version"))
    for name, value in parsed.http_server_config.headers.items():
        where = ("http_server_config", "headers", name)
        if name not in HEADERS:
            details.append(_detail(doc, where, f"HTTP header {name!r} can not be configured"))
            continue
        allowed = HEADERS[name]
        if allowed is not None and value not in allowed:
            details.append(_detail(doc, where, f"must be one of {', '.join(allowed)}"))
        elif any(c in value for c in "\r\n\0"):
            details.append(_detail(doc, where, "must not contain line breaks"))
    for user, hashed in parsed.basic_auth_users.items():
        if not user or ":" in user:
            details.append(
                _detail(doc, ("basic_auth_users", user), "user names must be set, without ':'")
            )
        if not BCRYPT_HASH.match(hashed.get_secret_value()):
            details.append(
                _detail(doc, ("basic_auth_users", user), "password is not a bcrypt hash")
            )
    rate = parsed.rate_limit
    if rate.interval > 0 and rate.burst < 1:
        details.append(_detail(doc, ("rate_limit", "burst"), "burst must be at least 1"))
    for i, path in enumerate(parsed.ghost_unauthenticated_paths):
        if not path.startswith("/") or any(c.isspace() for c in path):
            details.append(
                _detail(doc, ("ghost_unauthenticated_paths", i), "must be an absolute path")
            )
    return details


def parse_document(doc: LoadedDocument, base_dir: Path) -> WebConfig:
    """Validate a loaded web config document; ConfigError lists every problem (and never shows
    a value read through ``!env`` or ``!file``)."""
    return parse_redacted(doc, lambda loaded: _parse_document(loaded, base_dir))


def _parse_document(doc: LoadedDocument, base_dir: Path) -> WebConfig:
    parsed = validate_document(doc, WebConfigFile)
    details = _check(doc, parsed)
    if details:
        raise ConfigError(details)
    tls = parsed.tls_server_config if parsed.tls_server_config.enabled else None
    files = ca_file = None
    context = None
    if tls is not None:
        files = TLSFiles(
            _resolve(base_dir, tls.cert_file),
            _resolve(base_dir, tls.key_file),
            tls.cert,
            tls.key.get_secret_value() if tls.key is not None else None,
        )
        ca_file = _resolve(base_dir, tls.client_ca_file)
        try:
            context = server_context(tls, files, ca_file)
        except TLSLoadError as exc:
            raise ConfigError([_detail(doc, ("tls_server_config", exc.key), exc.message)]) from None
    return WebConfig(
        source=doc.file,
        tls=tls,
        tls_files=files,
        client_ca_file=ca_file,
        users={u: h.get_secret_value().encode() for u, h in parsed.basic_auth_users.items()},
        headers=dict(parsed.http_server_config.headers),
        unauthenticated_paths=frozenset(parsed.ghost_unauthenticated_paths),
        rate_interval=parsed.rate_limit.interval,
        rate_burst=parsed.rate_limit.burst,
        _context=context,
    )


def load_web_config(path: str | Path) -> WebConfig:
    """Read and validate a web config file; relative file names are taken from its folder."""
    return parse_document(load_file(path), Path(path).parent)


def parse_web_config(
    text: str, file: str = "<web config>", base_dir: Path | None = None
) -> WebConfig:
    """Validate web config text (tests, embedded configurations)."""
    base = base_dir or Path(".")
    return parse_document(load_text(text, file, base), base)
