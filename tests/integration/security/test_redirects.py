"""A target's redirects stay on its configured origin (scheme, host and port), as
docs/security.md, "Redirects", promises: another port or scheme is refused before any
connection, and configured headers and basic auth never reach another origin."""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from tests.integration.security.conftest import PKI
from tests.support import start_app

from ghost_exporter.config import Target, parse_config
from ghost_exporter.probes import FailureReason, ProbeContext, ProbeResult
from ghost_exporter.probes.timeout import run_probe

HEADER_SECRET = "redirect-header-secret-41c7"
PASSWORD_SECRET = "redirect-password-secret-93d2"
AUTHORIZATION = "Basic " + base64.b64encode(f"probe:{PASSWORD_SECRET}".encode()).decode()


@dataclass
class Site:
    """A recording server: ``/to?url=U`` answers 302 to ``U``, anything else healthy JSON."""

    url: str = ""
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def app(self) -> web.Application:
        async def handle(request: web.Request) -> web.Response:
            self.seen.append((request.path, dict(request.headers)))
            if request.path == "/to":
                raise web.HTTPFound(request.query["url"])
            return web.json_response({"status": "healthy"})

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        return app


class ConnectionCounter:
    """A listener that only counts the connections it accepts."""

    def __init__(self) -> None:
        self.accepted = 0
        self.port = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.accepted += 1
            writer.close()

        self.server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]


@pytest.fixture
async def servers() -> AsyncIterator[tuple[Site, Site, ConnectionCounter]]:
    """Two recording sites on different ports of 127.0.0.1 and a connection counter."""
    first, second, counter = Site(), Site(), ConnectionCounter()
    runners = []
    try:
        for site in (first, second):
            runner, site.url = await start_app(site.app())
            runners.append(runner)
        await counter.start()
        yield first, second, counter
    finally:
        for runner in runners:
            await runner.cleanup()
        if counter.server is not None:
            counter.server.close()
            await counter.server.wait_closed()


@pytest.fixture
async def https_site(pki: PKI) -> AsyncIterator[Site]:
    site = Site()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.cert_file, pki.key_file)
    runner = web.AppRunner(site.app(), shutdown_timeout=0.1)
    await runner.setup()
    try:
        tcp = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await tcp.start()
        site.url = f"https://127.0.0.1:{runner.addresses[0][1]}"
        yield site
    finally:
        await runner.cleanup()


def _target(url: str, extra: str = "") -> Target:
    return parse_config(
        "services:\n  - name: hop\n    interval: 10s\n    timeout: 2s\n    http:\n"
        f"      url: '{url}'\n"
        f"      headers: {{X-Configured: {HEADER_SECRET}}}\n"
        f"      basic_auth: {{username: probe, password: {PASSWORD_SECRET}}}\n"
        f"{extra}"
    ).targets[0]


async def _probe(target: Target) -> ProbeResult:
    ctx = ProbeContext()
    try:
        return await run_probe(target, ctx)
    finally:
        await ctx.close()


def _carries_credentials(headers: dict[str, str]) -> bool:
    return headers.get("X-Configured") == HEADER_SECRET or "Authorization" in headers


async def test_a_redirect_to_another_port_is_refused_without_connecting(
    servers: tuple[Site, Site, ConnectionCounter],
) -> None:
    first, _, counter = servers
    away = f"http://127.0.0.1:{counter.port}/landed"
    result = await _probe(_target(f"{first.url}/to?url={away}"))
    assert result.reason == FailureReason.STATUS
    assert result.message == (
        f"redirect to another scheme or port (http, {counter.port}) is not allowed"
    )
    assert result.status_code == 302
    assert counter.accepted == 0
    assert [path for path, _ in first.seen] == ["/to"]


async def test_a_redirect_from_https_to_http_on_the_same_port_is_refused(
    https_site: Site, pki: PKI
) -> None:
    port = https_site.url.rsplit(":", 1)[1]
    away = f"http://127.0.0.1:{port}/landed"
    result = await _probe(
        _target(
            f"{https_site.url}/to?url={away}", f"      tls_config: {{ca_file: '{pki.ca_file}'}}\n"
        )
    )
    assert result.reason == FailureReason.STATUS
    assert result.message == f"redirect to another scheme or port (http, {port}) is not allowed"
    assert [path for path, _ in https_site.seen] == ["/to"]


async def test_a_redirect_to_a_non_http_scheme_is_refused_even_when_allowed(
    servers: tuple[Site, Site, ConnectionCounter], tmp_path: Path
) -> None:
    first, _, _ = servers
    (tmp_path / "secret").write_text("local file\n")
    target = _target(
        f"{first.url}/to?url=file://{tmp_path}/secret", "      allow_external_redirects: true\n"
    )
    result = await _probe(target)
    assert result.reason == FailureReason.STATUS
    assert result.message == "redirect to a 'file' URL"


async def test_a_same_origin_redirect_is_followed_with_the_configured_credentials(
    servers: tuple[Site, Site, ConnectionCounter],
) -> None:
    first, _, _ = servers
    result = await _probe(_target(f"{first.url}/to?url=/landed"))
    assert result.success, result.message
    assert [path for path, _ in first.seen] == ["/to", "/landed"]
    for _, headers in first.seen:
        assert headers["X-Configured"] == HEADER_SECRET
        assert headers["Authorization"] == AUTHORIZATION


async def test_allowed_external_redirects_never_carry_the_configured_credentials(
    servers: tuple[Site, Site, ConnectionCounter],
) -> None:
    """Followed to another port and back again: the credentials stay with the first request."""
    first, second, _ = servers
    back = f"{first.url}/landed"
    away = f"{second.url}/to?url={back}"
    result = await _probe(
        _target(f"{first.url}/to?url={away}", "      allow_external_redirects: true\n")
    )
    assert result.success, result.message
    assert [path for path, _ in second.seen] == ["/to"]
    assert [path for path, _ in first.seen] == ["/to", "/landed"]
    assert _carries_credentials(first.seen[0][1])
    assert not _carries_credentials(second.seen[0][1])
    assert not _carries_credentials(first.seen[1][1])
