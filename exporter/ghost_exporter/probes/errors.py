"""Mapping of the exceptions raised while probing to failure reasons."""

from __future__ import annotations

import asyncio
import ssl

import aiohttp

from ghost_exporter.results import FailureReason, ProbeError


def classify(exc: BaseException) -> tuple[FailureReason, str]:
    """The failure reason and a short message for an exception raised while probing."""
    if isinstance(exc, ProbeError):  # its reason is known where it was raised
        return exc.reason, str(exc)
    if isinstance(exc, asyncio.TimeoutError):
        return FailureReason.TIMEOUT, "timed out"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return FailureReason.TLS, str(exc.certificate_error)
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return FailureReason.TLS, _short(exc)
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return FailureReason.STATUS, f"WebSocket upgrade refused: {exc.status} {exc.message}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return FailureReason.CONNECT, _short(exc.os_error)
    if isinstance(exc, ConnectionRefusedError | ConnectionResetError | OSError) and not isinstance(
        exc, aiohttp.ClientError
    ):
        return FailureReason.CONNECT, _short(exc)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return FailureReason.BODY, _short(exc)
    if isinstance(exc, aiohttp.ClientResponseError):  # the answer could not be parsed as HTTP
        head = str(exc.message).strip().split("\n\n", 1)[0]
        text = " ".join(line.strip() for line in head.splitlines()).rstrip(":") or str(exc)
        return FailureReason.PROTOCOL, _short(f"invalid HTTP answer: {text}")
    if isinstance(exc, aiohttp.ClientError | ValueError | UnicodeError):
        return FailureReason.PROTOCOL, _short(exc)
    return FailureReason.PROTOCOL, f"{type(exc).__name__}: {_short(exc)}"


def _short(exc: BaseException | str, limit: int = 200) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
