"""Plain requests to a configured URL, shared by reporters and pipelines: headers with basic
auth, TLS per target, no redirects (a request goes where the config says, nowhere else)."""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

from pydantic import SecretStr

from ghost_common.schema import BasicAuth, TLSConfig
from ghost_exporter.probes.clients import USER_AGENT
from ghost_exporter.probes.httpclient import ConnectionPool, Marks, Response, request
from ghost_exporter.probes.tls import client_context


def build_headers(
    headers: Mapping[str, SecretStr],
    basic_auth: BasicAuth | None,
    accept: str = "*/*",
    replace: tuple[str, str] | None = None,
) -> list[tuple[str, str]]:
    """User-Agent, Accept and basic auth, then the configured headers (which win); ``replace``
    substitutes a placeholder in the configured values."""
    out = [("User-Agent", USER_AGENT), ("Accept", accept)]
    if basic_auth is not None:
        raw = f"{basic_auth.username}:{basic_auth.password.get_secret_value()}"
        out.append(("Authorization", "Basic " + base64.b64encode(raw.encode()).decode()))
    given = {k.lower() for k in headers}
    out = [(k, v) for k, v in out if k.lower() not in given]
    for name, secret in headers.items():
        value = secret.get_secret_value()
        if replace is not None:
            value = value.replace(*replace)
        out.append((name, value))
    return out


async def send(
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
    tls: TLSConfig,
    max_body: int,
    marks: Marks | None = None,
    pool: ConnectionPool | None = None,
) -> Response:
    """One request to ``url``; raises HTTPError (with its reason) or a client exception."""
    parts = urlsplit(url)
    ssl_ctx = client_context(tls) if parts.scheme == "https" else None
    return await request(
        method,
        parts,
        headers,
        body,
        ssl_ctx=ssl_ctx,
        server_hostname=tls.server_name,
        max_body=max_body,
        marks=marks if marks is not None else Marks(start=time.perf_counter()),
        pool=pool,
    )


def status_ok(status: int, valid: list[int]) -> bool:
    return status in valid if valid else 200 <= status < 300
