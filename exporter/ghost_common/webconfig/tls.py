"""The server's TLS context from a web config, and certificate rotation without a restart."""

from __future__ import annotations

import logging
import os
import ssl
import tempfile
import time
from pathlib import Path
from typing import Any

from ghost_common.webconfig.model import (
    CIPHER_SUITES,
    CURVES,
    TLS_VERSIONS,
    TLSFiles,
    TLSServerConfig,
    verifies,
)

log = logging.getLogger(__name__)

#: Certificate files are checked for changes at most this often (seconds).
CERT_CHECK_INTERVAL = 1.0


class TLSLoadError(Exception):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def _load_pair(ctx: ssl.SSLContext, files: TLSFiles) -> None:
    """Load the certificate and key, from files or inline PEM (via a private temporary file)."""
    if files.cert_file is not None and files.key_file is not None:
        _load_chain(ctx, files.cert_file, files.key_file, "cert_file")
        return
    with tempfile.TemporaryDirectory(prefix="ghost-tls-") as tmp:
        cert = files.cert_file
        if cert is None:
            cert = Path(tmp) / "cert.pem"
            _write_private(cert, files.cert_pem or "")
        key = files.key_file
        if key is None:
            key = Path(tmp) / "key.pem"
            _write_private(key, files.key_pem or "")
        _load_chain(ctx, cert, key, "cert_file" if files.cert_file else "cert")


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def _load_chain(ctx: ssl.SSLContext, cert: Path, key: Path, where: str) -> None:
    for path, name in ((cert, where), (key, where.replace("cert", "key"))):
        if not path.is_file():
            raise TLSLoadError(name, f"cannot read {path}")
    try:
        ctx.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc.__class__.__name__
        raise TLSLoadError(where, f"cannot load the certificate and key: {reason}") from None


def _base_context(tls: TLSServerConfig, ca_file: Path | None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = TLS_VERSIONS[tls.min_version]
    ctx.maximum_version = TLS_VERSIONS[tls.max_version]
    suites = [CIPHER_SUITES[name] for name in tls.cipher_suites]
    openssl_suites = [s for s in suites if s is not None]
    if openssl_suites:
        try:
            ctx.set_ciphers(":".join(openssl_suites))
        except ssl.SSLError:
            raise TLSLoadError("cipher_suites", "none of the cipher suites is available") from None
    if tls.prefer_server_cipher_suites:
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    for curve in tls.curve_preferences:
        ctx.set_ecdh_curve(CURVES[curve])
    if verifies(tls.client_auth_type):
        ctx.verify_mode = (
            ssl.CERT_OPTIONAL
            if tls.client_auth_type == "VerifyClientCertIfGiven"
            else ssl.CERT_REQUIRED
        )
        try:
            if ca_file is not None:
                ctx.load_verify_locations(cafile=str(ca_file))
            else:
                ctx.load_verify_locations(cadata=tls.client_ca)
        except (ssl.SSLError, OSError, ValueError):
            key = "client_ca_file" if ca_file is not None else "client_ca"
            raise TLSLoadError(key, "cannot load the client CA certificates") from None
    return ctx


def server_context(tls: TLSServerConfig, files: TLSFiles, ca_file: Path | None) -> ssl.SSLContext:
    ctx = _base_context(tls, ca_file)
    _load_pair(ctx, files)
    if files.cert_file is not None or files.key_file is not None:
        ctx.sni_callback = _Rotation(tls, files, ca_file).switch
    return ctx


def _stamp(files: TLSFiles) -> tuple[tuple[int, int, int], ...]:
    stamps = []
    for path in (files.cert_file, files.key_file):
        if path is None:
            continue
        try:
            st = path.stat()
            stamps.append((st.st_ino, st.st_mtime_ns, st.st_size))
        except OSError:
            stamps.append((0, 0, 0))
    return tuple(stamps)


class _Rotation:
    """Serves a rotated certificate: at a new connection (at most once a second), a changed
    certificate or key file is loaded into a fresh context that the connection switches to."""

    def __init__(self, tls: TLSServerConfig, files: TLSFiles, ca_file: Path | None) -> None:
        self.tls, self.files, self.ca_file = tls, files, ca_file
        self.stamp = _stamp(files)
        self.checked = time.monotonic()
        self.current: ssl.SSLContext | None = None

    def switch(self, ssl_object: ssl.SSLObject, server_name: str | None, ctx: Any) -> None:
        now = time.monotonic()
        if now - self.checked >= CERT_CHECK_INTERVAL:
            self.checked = now
            stamp = _stamp(self.files)
            if stamp != self.stamp:
                self.stamp = stamp
                try:
                    fresh = _base_context(self.tls, self.ca_file)
                    _load_pair(fresh, self.files)
                except TLSLoadError as exc:
                    log.warning(
                        "TLS certificate changed but does not load; serving the previous one",
                        extra={"error": exc.message},
                    )
                else:
                    self.current = fresh
                    log.info("TLS certificate reloaded")
        if self.current is not None:
            ssl_object.context = self.current
