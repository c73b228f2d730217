"""The HTTP prober against real aiohttp servers on loopback."""

from __future__ import annotations

import asyncio
import datetime
import ssl
import time
from pathlib import Path

import pytest
import trustme
from aiohttp import web

from ghost_exporter.probes import FailureReason, Health, ProbeContext
from ghost_exporter.probes.timeout import run_probe
from tests.conftest import ServeFn
from tests.integration.exporter.conftest import ProbeFn, target_from


def _health_app() -> web.Application:
    async def state(request: web.Request) -> web.Response:
        return web.json_response({"status": request.match_info["state"], "nested": {"ok": "up"}})

    async def code(request: web.Request) -> web.Response:
        return web.json_response({"status": "down"}, status=int(request.match_info["code"]))

    async def text(request: web.Request) -> web.Response:
        return web.Response(text="not json {")

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 5000)

    async def streamed(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        for _ in range(100):
            await resp.write(b"y" * 1000)
        await resp.write_eof()
        return resp

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="late")

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def away(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://localhost:1/elsewhere")

    async def hop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/state/healthy")

    async def echo(request: web.Request) -> web.Response:
        return web.json_response(
            {"status": "ok", "method": request.method, "auth": request.headers.get("X-Token")}
        )

    app = web.Application()
    app.router.add_get("/state/{state}", state)
    app.router.add_get("/code/{code}", code)
    app.router.add_get("/text", text)
    app.router.add_get("/big", big)
    app.router.add_get("/streamed", streamed)
    app.router.add_get("/slow", slow)
    app.router.add_get("/loop", loop)
    app.router.add_get("/away", away)
    app.router.add_get("/hop", hop)
    app.router.add_route("*", "/echo", echo)
    return app


@pytest.fixture
async def base(serve: ServeFn) -> str:
    return await serve(_health_app())


def http(url: str, extra: str = "") -> str:
    return f"    http:\n      url: {url}\n{extra}"


@pytest.mark.parametrize(
    ("state", "health", "up"),
    [
        ("healthy", Health.HEALTHY, True),
        ("ok", Health.HEALTHY, True),
        ("degraded", Health.DEGRADED, True),
        ("yellow", Health.DEGRADED, True),
        ("unhealthy", Health.UNHEALTHY, False),
        ("red", Health.UNHEALTHY, False),
        ("banana", Health.UNKNOWN, False),
    ],
)
async def test_health_field_states(
    probe: ProbeFn, base: str, state: str, health: Health, up: bool
) -> None:
    result = await probe(http(f"{base}/state/{state}", "      health_field: status\n"))
    assert result.health == health
    assert result.success is up
    assert result.status_code == 200
    if not up:
        assert result.reason == FailureReason.HEALTH
    assert set(result.phases) >= {"resolve", "connect", "processing", "transfer"}


async def test_health_map_overrides_and_dotted_path(probe: ProbeFn, base: str) -> None:
    result = await probe(
        http(f"{base}/state/x", "      health_field: nested.ok\n      health_map: {up: degraded}\n")
    )
    assert result.health == Health.DEGRADED
    assert result.success


async def test_missing_health_field(probe: ProbeFn, base: str) -> None:
    result = await probe(http(f"{base}/state/ok", "      health_field: nope.deeper\n"))
    assert result.reason == FailureReason.HEALTH
    assert result.health == Health.UNKNOWN


async def test_status_500_fails_with_status_and_still_reads_health(
    probe: ProbeFn, base: str
) -> None:
    result = await probe(http(f"{base}/code/500", "      health_field: status\n"))
    assert not result.success
    assert result.reason == FailureReason.STATUS
    assert result.status_code == 500
    assert result.health == Health.UNHEALTHY


async def test_valid_status_codes(probe: ProbeFn, base: str) -> None:
    result = await probe(http(f"{base}/code/418", "      valid_status_codes: [418]\n"))
    assert result.success
    assert result.health == Health.HEALTHY


async def test_invalid_json_is_a_body_failure(probe: ProbeFn, base: str) -> None:
    result = await probe(http(f"{base}/text", "      health_field: status\n"))
    assert result.reason == FailureReason.BODY
    assert result.message == "body is not valid JSON"


@pytest.mark.parametrize("path", ["/big", "/streamed"])
async def test_body_over_the_limit(probe: ProbeFn, base: str, path: str) -> None:
    result = await probe(http(f"{base}{path}", "      max_body_bytes: 1KiB\n"))
    assert result.reason == FailureReason.BODY
    assert "over the 1024 byte limit" in result.message


async def test_body_regexes(probe: ProbeFn, base: str) -> None:
    ok = await probe(http(f"{base}/state/healthy", "      body_regex: 'heal+thy'\n"))
    assert ok.success
    bad = await probe(http(f"{base}/state/healthy", "      body_not_regex: 'healthy'\n"))
    assert bad.reason == FailureReason.BODY


async def test_slower_than_the_timeout(probe: ProbeFn, base: str) -> None:
    start = time.perf_counter()
    result = await probe(http(f"{base}/slow"), timeout="300ms")
    assert result.reason == FailureReason.TIMEOUT
    assert time.perf_counter() - start < 3
    assert "connect" in result.phases


async def test_connection_refused(probe: ProbeFn, serve: ServeFn) -> None:
    url = await serve(web.Application())
    port = url.rsplit(":", 1)[1]
    # A port that was just free: bind, remember, close.
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    assert str(free) != port
    result = await probe(http(f"http://127.0.0.1:{free}/"))
    assert result.reason == FailureReason.CONNECT


async def test_redirect_loop(probe: ProbeFn, base: str) -> None:
    result = await probe(http(f"{base}/loop", "      max_redirects: 3\n"))
    assert result.reason == FailureReason.STATUS
    assert result.message == "more than 3 redirects"


async def test_redirect_to_another_host_needs_permission(probe: ProbeFn, base: str) -> None:
    refused = await probe(http(f"{base}/away"))
    assert refused.reason == FailureReason.STATUS
    assert "another host (localhost)" in refused.message
    followed = await probe(http(f"{base}/away", "      allow_external_redirects: true\n"))
    assert followed.reason == FailureReason.CONNECT


async def test_redirect_on_the_same_host_is_followed(probe: ProbeFn, base: str) -> None:
    result = await probe(http(f"{base}/hop", "      health_field: status\n"))
    assert result.success
    assert result.health == Health.HEALTHY
    no_follow = await probe(http(f"{base}/hop", "      follow_redirects: false\n"))
    assert no_follow.reason == FailureReason.STATUS
    assert no_follow.status_code == 302


async def test_method_headers_and_body(probe: ProbeFn, base: str) -> None:
    result = await probe(
        http(
            f"{base}/echo",
            "      method: POST\n      body: '{}'\n      headers: {X-Token: abc}\n"
            "      health_field: status\n",
        )
    )
    assert result.success


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


async def _https_server(
    serve: ServeFn, ca: trustme.CA, not_after: datetime.datetime | None = None
) -> str:
    cert = ca.issue_cert("127.0.0.1", "localhost", not_after=not_after)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "healthy"})

    app = web.Application()
    app.router.add_get("/health", health)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    port = runner.addresses[0][1]

    async def _cleanup_app() -> web.Application:
        return web.Application()

    # Hand the runner to the serve fixture's cleanup by serving a dummy and closing ours there.
    await serve(await _cleanup_app())
    _RUNNERS.append(runner)
    return f"https://127.0.0.1:{port}/health"


_RUNNERS: list[web.AppRunner] = []


@pytest.fixture(autouse=True)
async def _stop_https_servers() -> object:
    yield None
    while _RUNNERS:
        await _RUNNERS.pop().cleanup()


async def test_https_with_trusted_ca_reports_expiry_and_tls_phase(
    ctx: ProbeContext, serve: ServeFn, ca: trustme.CA, tmp_path: Path
) -> None:
    not_after = datetime.datetime(2031, 6, 1, 12, 0, tzinfo=datetime.UTC)
    url = await _https_server(serve, ca, not_after)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    target = target_from(
        http(url, f"      health_field: status\n      tls_config: {{ca_file: '{ca_file}'}}\n")
    )
    result = await run_probe(target, ctx)
    assert result.success, result.message
    assert result.cert_expiry == not_after.timestamp()
    assert result.phases["tls"] > 0
    assert set(result.phases) == {"resolve", "connect", "tls", "processing", "transfer"}


async def test_https_with_unknown_ca_is_a_tls_failure(
    probe: ProbeFn, serve: ServeFn, ca: trustme.CA
) -> None:
    url = await _https_server(serve, ca)
    result = await probe(http(url))
    assert result.reason == FailureReason.TLS
    insecure = await probe(http(url, "      tls_config: {insecure_skip_verify: true}\n"))
    assert insecure.success, insecure.message
    assert insecure.cert_expiry is not None


async def test_refresh_tls_drops_contexts_and_idle_tls_connections(
    ctx: ProbeContext, serve: ServeFn, ca: trustme.CA, tmp_path: Path
) -> None:
    """What a config load does: the next probe builds a new client context (reading ca_file
    again) and opens a new connection, even for a keep-alive target."""
    url = await _https_server(serve, ca)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    target = target_from(
        http(url, f"      keepalive: true\n      tls_config: {{ca_file: '{ca_file}'}}\n")
    )
    first = await run_probe(target, ctx)
    reused = await run_probe(target, ctx)
    assert first.success, first.message
    assert reused.success, reused.message
    assert "tls" in first.phases
    assert "tls" not in reused.phases  # the idle connection was reused
    trust_nobody = trustme.CA()
    trust_nobody.cert_pem.write_to_path(str(ca_file))
    cached = await run_probe(target, ctx)
    assert cached.success, cached.message  # the cached context and connection: no file read
    ctx.refresh_tls()
    assert not ctx.pool.idle
    fresh = await run_probe(target, ctx)
    assert fresh.reason == FailureReason.TLS, fresh.message
