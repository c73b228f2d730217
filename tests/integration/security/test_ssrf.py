"""No SSRF: whatever a request to /probe says, only configured targets are probed, with their
configured URL, host, port, headers and timeout; and a target's redirects cannot take the
exporter to another host unless the target allows it."""

from __future__ import annotations

import asyncio
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from tests.integration.exporter.hostile.servers import LoopThread
from tests.support import run_exporter

from ghost_exporter.config import Target, parse_config
from ghost_exporter.probes import FailureReason, ProbeContext
from ghost_exporter.probes.timeout import run_probe

SECRET_HEADER = "ssrf-header-secret-6e1f"


@dataclass
class Recorder:
    """An HTTP server that records every request it gets, on any path."""

    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> web.Application:
        async def record(request: web.Request) -> web.StreamResponse:
            with self.lock:
                self.requests.append((request.path, request.query_string, dict(request.headers)))
            if request.path == "/slow":
                await asyncio.sleep(3)
            if request.path.startswith("/redirect/"):
                raise web.HTTPFound(urllib.parse.unquote(request.path.removeprefix("/redirect/")))
            return web.json_response({"status": "healthy"})

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", record)
        return app


class Counter:
    """A TCP listener that counts connections (and closes them)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.accepted = 0

    async def start(self, loop_thread: LoopThread) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.accepted += 1
            writer.close()

        server = await asyncio.start_server(handle, self.host, 0)
        self.port = server.sockets[0].getsockname()[1]

        async def close() -> None:
            server.close()

        loop_thread.on_close(close)


@contextmanager
def recording(host: str = "127.0.0.1") -> Iterator[tuple[str, Recorder]]:
    """A Recorder served on ``host`` from its own thread; stopped (handlers too) at the end."""
    recorder = Recorder()
    with LoopThread() as loop_thread:

        async def start() -> int:
            runner = web.AppRunner(recorder.app(), shutdown_timeout=0.1)
            await runner.setup()
            site = web.TCPSite(runner, host, 0)
            await site.start()
            loop_thread.on_close(runner.cleanup)
            port: int = runner.addresses[0][1]
            return port

        port = loop_thread.run(start())
        yield f"http://{host}:{port}", recorder


@pytest.fixture(scope="module")
def allowed() -> Iterator[tuple[str, Recorder]]:
    with recording() as server:
        yield server


@pytest.fixture(scope="module")
def forbidden() -> Iterator[tuple[str, Recorder]]:
    with recording() as server:
        yield server


@pytest.fixture(scope="module")
def counter() -> Iterator[Counter]:
    with LoopThread() as loop_thread:
        listener = Counter()
        loop_thread.run(listener.start(loop_thread))
        yield listener


def _variants(b_url: str, b_port: int, c_port: int) -> list[tuple[str, dict[str, str]]]:
    b = urllib.parse.quote(b_url, safe="")
    c = f"127.0.0.1:{c_port}"
    queries = [
        f"target={b_url}",
        f"target={b}",
        f"target=alpha&target={b}",
        f"target={b}&target=alpha",
        f"target=alpha&url={b}",
        f"target=alpha&module=http_2xx&url={b}&address={c}&host=127.0.0.1:{b_port}",
        f"url={b}",
        f"module=http_2xx&target=127.0.0.1:{b_port}",
        f"target={c}",
        f"target=tcp://{c}",
        f"target=alpha%00{b}",
        f"target=alpha%2F..%2F..%2F127.0.0.1:{b_port}",
        f"target=alpha@127.0.0.1:{b_port}",
        f"target=http://alpha@127.0.0.1:{b_port}/",
        "target=ALPHA",
        "target=alpha%20",
        f"target=alpha%0d%0aHost:%20127.0.0.1:{b_port}",
        "target[]=alpha",
        f"targets={b}",
        f"target=beta&address={c}",
        f"target=beta&port={c_port}",
        f"target=%62eta&send=GET%20/%20HTTP/1.0&address={c}",
    ]
    headers = [
        {"Host": f"127.0.0.1:{b_port}"},
        {"X-Forwarded-Host": f"127.0.0.1:{b_port}", "X-Forwarded-Port": str(b_port)},
        {"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"},
        {"X-Forwarded-Proto": "https", "Forwarded": f"host=127.0.0.1:{b_port};proto=http"},
        {"X-Original-URL": b_url, "X-Rewrite-URL": b_url},
        {"X-Prometheus-Scrape-Timeout-Seconds": "1e9"},
        {"X-Prometheus-Scrape-Timeout-Seconds": "-5"},
        {"X-Prometheus-Scrape-Timeout-Seconds": "nan"},
        {"X-Prometheus-Scrape-Timeout-Seconds": "inf"},
        {"X-Prometheus-Scrape-Timeout-Seconds": "0"},
        {"X-Prometheus-Scrape-Timeout-Seconds": "one minute"},
    ]
    out: list[tuple[str, dict[str, str]]] = [(f"/probe?{q}", {}) for q in queries]
    for h in headers:
        out += [("/probe?target=alpha", h), ("/probe?target=beta", h), (f"/probe?target={b}", h)]
    out += [
        (f"/probe/../probe?target={b}", {}),
        (f"/probe;target={b}", {}),
        (f"//probe?target={b}", {}),
        (f"/metrics?target={b}", {}),
        (f"/-/reload?target={b}", {}),
        (f"/?target={b}", {}),
    ]
    return out


def test_probe_only_ever_reaches_configured_targets(
    allowed: tuple[str, Recorder],
    forbidden: tuple[str, Recorder],
    counter: Counter,
    tmp_path: Path,
) -> None:
    a_url, a = allowed
    b_url, b = forbidden
    a_port, b_port = int(a_url.rsplit(":", 1)[1]), int(b_url.rsplit(":", 1)[1])
    config = tmp_path / "ghost.yml"
    config.write_text(
        "defaults: {interval: 1h, timeout: 500ms}\n"
        "services:\n"
        "  - name: alpha\n"
        f"    http: {{url: '{a_url}/health', headers: {{X-Configured: {SECRET_HEADER}}}}}\n"
        "  - name: slowpoke\n"
        f"    http: {{url: '{a_url}/slow'}}\n"
        "  - name: beta\n"
        f"    tcp: {{address: '127.0.0.1:{a_port}'}}\n"
    )
    with run_exporter(config, tmp_path) as exporter:
        for path, headers in _variants(b_url, b_port, counter.port):
            request = urllib.request.Request(exporter.url + path, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=10) as resp:
                    status, body = resp.status, resp.read().decode()
            except urllib.error.HTTPError as exc:
                status, body = exc.code, exc.read().decode()
            assert status in (200, 400, 404, 405), (path, headers, status)
            if status == 200 and path.startswith("/probe"):
                # /probe counters accumulate over requests: one probe more each time.
                assert re.search(r'^ghost_probes_total\{service="(alpha|beta)"\} [1-9]', body, re.M)
        # A huge or odd scrape timeout cannot extend the configured 500 ms.
        # Each /probe answer counts one more timeout (the counters accumulate over requests).
        status, body = exporter.get("/probe?target=slowpoke")
        timed_out = re.compile(
            r'^ghost_probe_failures_total\{service="slowpoke",reason="timeout"\} (\S+)$', re.M
        )
        found = timed_out.search(body)
        assert found is not None
        count = float(found.group(1))
        for value in ("1e9", "inf", "nan", "-1"):
            request = urllib.request.Request(
                exporter.url + "/probe?target=slowpoke",
                headers={"X-Prometheus-Scrape-Timeout-Seconds": value},
            )
            with urllib.request.urlopen(request, timeout=10) as resp:
                found = timed_out.search(resp.read().decode())
            assert found is not None, value
            assert float(found.group(1)) == count + 1, value
            count += 1
    assert b.requests == []
    assert counter.accepted == 0
    assert a.requests, "the configured target was probed"
    for path, query, headers in a.requests:
        assert path in ("/health", "/slow")
        assert query == ""
        assert headers["Host"] == f"127.0.0.1:{a_port}"
        assert not any(
            h.lower().startswith(("x-forwarded", "forwarded", "x-real")) for h in headers
        )
        if path == "/health":
            assert headers["X-Configured"] == SECRET_HEADER


# --- redirects, from the hostile side ----------------------------------------------------------


def _target(url: str, extra: str = "") -> Target:
    return parse_config(
        "services:\n  - name: hop\n    interval: 10s\n    timeout: 2s\n"
        f"    http: {{url: '{url}', headers: {{X-Configured: {SECRET_HEADER}}}{extra}}}\n"
    ).targets[0]


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[tuple[str, Recorder]]:
    """A recorder on 127.0.0.2: another host."""
    with recording("127.0.0.2") as server:
        yield server


async def test_redirect_to_another_host_is_refused_unless_allowed(
    allowed: tuple[str, Recorder], elsewhere: tuple[str, Recorder]
) -> None:
    a_url, _ = allowed
    e_url, e = elsewhere
    away = f"{a_url}/redirect/" + urllib.parse.quote(f"{e_url}/landed", safe="")
    ctx = ProbeContext()
    try:
        refused = await run_probe(_target(away), ctx)
        assert refused.reason == FailureReason.STATUS
        assert refused.message == "redirect to another host (127.0.0.2) is not allowed"
        assert e.requests == []
        followed = await run_probe(_target(away, ", allow_external_redirects: true"), ctx)
        assert followed.success, followed.message
        assert [r[0] for r in e.requests] == ["/landed"]
    finally:
        await ctx.close()


async def test_redirect_to_another_port_counts_as_another_host(
    allowed: tuple[str, Recorder], forbidden: tuple[str, Recorder]
) -> None:
    a_url, _ = allowed
    b_url, b = forbidden
    before = len(b.requests)
    away = f"{a_url}/redirect/" + urllib.parse.quote(f"{b_url}/landed", safe="")
    ctx = ProbeContext()
    try:
        result = await run_probe(_target(away), ctx)
    finally:
        await ctx.close()
    assert len(b.requests) == before
    assert result.reason == FailureReason.STATUS


async def test_configured_secrets_do_not_follow_a_redirect_to_another_host(
    allowed: tuple[str, Recorder], elsewhere: tuple[str, Recorder]
) -> None:
    a_url, _ = allowed
    e_url, e = elsewhere
    before = len(e.requests)
    away = f"{a_url}/redirect/" + urllib.parse.quote(f"{e_url}/landed", safe="")
    ctx = ProbeContext()
    try:
        await run_probe(_target(away, ", allow_external_redirects: true"), ctx)
    finally:
        await ctx.close()
    landed = e.requests[before:]
    assert landed
    assert all(SECRET_HEADER not in headers.values() for _, _, headers in landed)
