"""TLS client contexts per target, handshake timing, and certificate expiry."""

from __future__ import annotations

import _ssl
import datetime
import ssl
import time
from functools import lru_cache
from typing import Any

from ghost_common.schema import TLSConfig
from ghost_common.schema import client_context as tls_client_context

_DER = _ssl.ENCODING_DER


class TimedSSLObject(ssl.SSLObject):
    """An SSLObject that remembers when its handshake started and finished."""

    handshake_start: float | None = None
    handshake_end: float | None = None

    def do_handshake(self) -> None:
        if self.handshake_start is None:
            self.handshake_start = time.perf_counter()
        super().do_handshake()
        self.handshake_end = time.perf_counter()


@lru_cache(maxsize=1024)
def client_context(tls: TLSConfig) -> ssl.SSLContext:
    """An SSL client context for ``tls``; cached, so targets sharing options share a context.

    The cache is keyed by the options, not by the files' contents: ``clear_client_contexts``
    (called on every config load) makes the next probes read the files again."""
    ctx = tls_client_context(tls)
    ctx.sslobject_class = TimedSSLObject
    return ctx


def clear_client_contexts() -> None:
    """Forget every cached client context; the next probe of each target builds a new one."""
    client_context.cache_clear()


def handshake_seconds(ssl_object: Any) -> float | None:
    """The handshake duration recorded on a TimedSSLObject, if any."""
    start = getattr(ssl_object, "handshake_start", None)
    end = getattr(ssl_object, "handshake_end", None)
    if start is None or end is None:
        return None
    return float(end - start)


def cert_expiry(ssl_object: Any) -> float | None:
    """Earliest notAfter (Unix time) of the peer's verified chain, or of its leaf certificate."""
    if ssl_object is None:
        return None
    expiries: list[float] = []
    chain = None
    get_chain = getattr(ssl_object, "get_verified_chain", None)
    if get_chain is not None:
        try:
            chain = get_chain()
        except (ssl.SSLError, ValueError):
            chain = None
    if chain is None:  # Python < 3.13 keeps the verified chain on the inner object
        inner = getattr(ssl_object, "_sslobj", None)
        get_inner = getattr(inner, "get_verified_chain", None)
        if get_inner is not None:
            try:
                chain = get_inner()
            except (ssl.SSLError, ValueError):
                chain = None
    if chain:
        for cert in chain:
            der = cert if isinstance(cert, bytes) else cert.public_bytes(_DER)
            expiry = _der_not_after(der)
            if expiry is not None:
                expiries.append(expiry)
    else:
        der = ssl_object.getpeercert(binary_form=True)
        if der:
            expiry = _der_not_after(der)
            if expiry is not None:
                expiries.append(expiry)
    return min(expiries) if expiries else None


def _der_not_after(der: bytes) -> float | None:
    try:
        from cryptography import x509
    except ImportError:  # pragma: no cover - cryptography is a dependency
        return None
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return None
    not_after: datetime.datetime = cert.not_valid_after_utc
    return not_after.timestamp()
