"""Config regexes in probes are RE2: a pattern that would backtrack for minutes leaves the
exporter answering, and matching keeps its meaning (search, text vs bytes)."""

from __future__ import annotations

import asyncio
import threading
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from ghost_exporter.probes import FailureReason
from tests.conftest import ServeFn
from tests.integration.exporter.conftest import ProbeFn
from tests.support import ThreadedServer, run_exporter, wait_until

#: 1 MiB of ``a`` and a ``b``: ``(a+)+$`` backtracks through every way of splitting the a's.
BODY = b"a" * (1 << 20) + b"b"


def _held_body_app(held: threading.Event) -> web.Application:
    """Serves BODY but holds back its last byte until ``POST /release``: a probe is in flight."""
    release = asyncio.Event()

    async def body(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        resp.content_length = len(BODY)
        await resp.prepare(request)
        await resp.write(BODY[:-1])
        held.set()
        await release.wait()
        await resp.write(BODY[-1:])
        await resp.write_eof()
        return resp

    async def release_body(request: web.Request) -> web.Response:
        release.set()
        return web.Response(text="released\n")

    app = web.Application()
    app.router.add_get("/body", body)
    app.router.add_post("/release", release_body)
    return app


def _samples(text: str, name: str, service: str) -> dict[str, float]:
    """``reason`` (or "") -> value of the samples of ``name`` for ``service``."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels.get("service") == service:
                found[sample.labels.get("reason", "")] = sample.value
    return found


def test_a_catastrophic_body_regex_leaves_the_exporter_answering(tmp_path: Path) -> None:
    held = threading.Event()
    with ThreadedServer(_held_body_app(held)) as server:
        config = tmp_path / "ghost.yml"
        config.write_text(
            "services:\n"
            "  - name: catastrophic\n"
            "    interval: 10s\n"
            "    timeout: 10s\n"
            "    http:\n"
            f"      url: {server.url}/body\n"
            "      body_regex: '(a+)+$'\n"
            "      max_body_bytes: 2MiB\n"
        )
        with run_exporter(config, tmp_path) as exporter:
            wait_until(held.is_set)  # the scheduled probe has read all but the last byte
            status, _ = exporter.get("/metrics")
            assert status == 200
            # The probe gets its "b" and matches 1 MiB against (a+)+$.
            release = urllib.request.Request(f"{server.url}/release", method="POST")
            with urllib.request.urlopen(release, timeout=10) as answer:
                assert answer.status == 200

            def failed_on_body() -> float:
                status, text = exporter.get("/metrics")
                assert status == 200
                return _samples(text, "ghost_probe_failures_total", "catastrophic").get("body", 0)

            wait_until(failed_on_body)
            # Probed now, the answer comes within the probe's timeout: a body failure, no timeout.
            status, text = exporter.get("/probe?target=catastrophic", timeout=30)
            assert status == 200
            assert _samples(text, "ghost_service_up", "catastrophic") == {"": 0.0}
            failures = _samples(text, "ghost_probe_failures_total", "catastrophic")
            assert {reason: n for reason, n in failures.items() if n} == {"body": 1.0}
            assert exporter.get("/metrics")[0] == 200


def _body_app(body: bytes) -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/octet-stream")

    app = web.Application()
    app.router.add_get("/", handler)
    return app


async def test_catastrophic_body_regex_in_process(probe: ProbeFn, serve: ServeFn) -> None:
    base = await serve(_body_app(BODY))
    snippet = f"    http:\n      url: {base}/\n      max_body_bytes: 2MiB\n"
    missing = await probe(snippet + "      body_regex: '(a+)+$'\n", timeout="10s")
    assert (missing.reason, missing.message) == (
        FailureReason.BODY,
        "body does not match body_regex",
    )
    found = await probe(snippet + "      body_not_regex: '(a+)+b$'\n", timeout="10s")
    assert (found.reason, found.message) == (FailureReason.BODY, "body matches body_not_regex")


async def test_body_regexes_search_the_body_decoded_as_utf8(probe: ProbeFn, serve: ServeFn) -> None:
    base = await serve(_body_app('{"note": "café"}'.encode() + b"\xff"))
    # Searched anywhere (not anchored); an invalid byte reads as U+FFFD, one character.
    ok = await probe(f"    http:\n      url: {base}/\n      body_regex: 'caf.\"\\}}.$'\n")
    assert ok.success, ok.message
    fffd = await probe(f"    http:\n      url: {base}/\n      body_regex: '\\x{{fffd}}'\n")
    assert fffd.success, fffd.message
    anchored = await probe(f"    http:\n      url: {base}/\n      body_regex: '^caf'\n")
    assert anchored.reason == FailureReason.BODY


TCPServer = Callable[[bytes], Awaitable[int]]


@pytest.fixture
async def tcp_sender() -> AsyncIterator[TCPServer]:
    """Loopback TCP servers that send the given bytes and close."""
    servers: list[asyncio.Server] = []

    async def start(payload: bytes) -> int:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(payload)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def test_a_catastrophic_tcp_expect_reads_its_limit_and_fails(
    probe: ProbeFn, tcp_sender: TCPServer
) -> None:
    port = await tcp_sender(b"a" * 70_000)
    result = await probe(
        f"    tcp: {{address: '127.0.0.1:{port}', expect: '(a+)+c'}}\n", timeout="10s"
    )
    assert (result.reason, result.message) == (
        FailureReason.BODY,
        "no match for expect in the first 65536 bytes",
    )


async def test_tcp_expect_matches_bytes_one_by_one(probe: ProbeFn, tcp_sender: TCPServer) -> None:
    port = await tcp_sender(b"\x00\x01OK\xff\r\n" + "café".encode())
    # . is any one byte (even one that is not UTF-8); é is its two UTF-8 bytes
    any_byte = await probe(f"    tcp: {{address: '127.0.0.1:{port}', expect: '^..OK.\\r'}}\n")
    assert any_byte.success, any_byte.message
    utf8 = await probe(f"    tcp: {{address: '127.0.0.1:{port}', expect: 'café$'}}\n")
    assert utf8.success, utf8.message
    one_char = await probe(f"    tcp: {{address: '127.0.0.1:{port}', expect: 'caf.$'}}\n")
    assert (one_char.reason, one_char.message) == (
        FailureReason.BODY,
        "connection closed before the expected answer",
    )
