"""The WebSocket, TCP and daemon probers against real loopback servers."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from ghost_exporter.config import parse_config
from ghost_exporter.probes import FailureReason, Health, ProbeContext
from ghost_exporter.probes.timeout import run_probe
from tests.conftest import ServeFn
from tests.integration.exporter.conftest import ProbeFn, target_from


def _ws_app() -> web.Application:
    async def fresh(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        hello = await ws.receive_str()
        await ws.send_str(json.dumps({"ts": time.time(), "echo": json.loads(hello)["type"]}))
        await ws.close()
        return ws

    async def stale(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"ts": int((time.time() - 60) * 1000)}))
        await ws.close()
        return ws

    async def rfc3339(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"meta": {"at": "2020-01-01T00:00:00Z"}}))
        await ws.close()
        return ws

    async def silent(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await asyncio.sleep(5)
        return ws

    async def garbage(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str("<<not json>>")
        await ws.close()
        return ws

    async def refuse(request: web.Request) -> web.Response:
        return web.Response(status=403, text="no upgrade for you")

    app = web.Application()
    for name, handler in {
        "fresh": fresh,
        "stale": stale,
        "rfc3339": rfc3339,
        "silent": silent,
        "garbage": garbage,
        "refuse": refuse,
    }.items():
        app.router.add_get(f"/{name}", handler)
    return app


@pytest.fixture
async def ws_base(serve: ServeFn) -> str:
    return (await serve(_ws_app())).replace("http://", "ws://")


def ws(url: str, extra: str = "") -> str:
    return f"    websocket:\n      url: {url}\n{extra}"


async def test_fresh_messages(probe: ProbeFn, ws_base: str) -> None:
    result = await probe(
        ws(
            f"{ws_base}/fresh",
            '      send: \'{"type": "subscribe"}\'\n      timestamp_field: ts\n'
            "      expect_fields: {echo: subscribe}\n",
        )
    )
    assert result.success, result.message
    assert result.health == Health.HEALTHY
    assert result.message_lag is not None
    assert -1 < result.message_lag < 5
    assert set(result.phases) == {"connect", "first_message"}


async def test_stale_messages_in_milliseconds(probe: ProbeFn, ws_base: str) -> None:
    result = await probe(ws(f"{ws_base}/stale", "      timestamp_field: ts\n"))
    assert result.success
    assert result.message_lag is not None
    assert 55 < result.message_lag < 120
    limited = await probe(ws(f"{ws_base}/stale", "      timestamp_field: ts\n      max_lag: 5s\n"))
    assert limited.reason == FailureReason.HEALTH


async def test_rfc3339_timestamp_in_a_dotted_field(probe: ProbeFn, ws_base: str) -> None:
    result = await probe(ws(f"{ws_base}/rfc3339", "      timestamp_field: meta.at\n"))
    assert result.message_lag is not None
    assert result.message_lag > 86400 * 365 * 4


async def test_no_message_within_the_timeout(probe: ProbeFn, ws_base: str) -> None:
    result = await probe(ws(f"{ws_base}/silent"), timeout="300ms")
    assert result.reason == FailureReason.TIMEOUT
    assert "connect" in result.phases


async def test_garbage_and_failed_assertions(probe: ProbeFn, ws_base: str) -> None:
    garbage = await probe(ws(f"{ws_base}/garbage", "      timestamp_field: ts\n"))
    assert garbage.reason == FailureReason.BODY
    wrong = await probe(
        ws(
            f"{ws_base}/fresh",
            '      send: \'{"type": "x"}\'\n      expect_fields: {echo: subscribe}\n',
        )
    )
    assert wrong.reason == FailureReason.BODY
    assert wrong.message == "field 'echo' is 'x', expected 'subscribe'"


async def test_refused_upgrade(probe: ProbeFn, ws_base: str) -> None:
    result = await probe(ws(f"{ws_base}/refuse"))
    assert result.reason == FailureReason.STATUS
    assert "403" in result.message


async def test_push_only_feed_that_never_answers_the_close(
    ctx: ProbeContext, serve: ServeFn
) -> None:
    """A feed that pushes every 200 ms and never reads never answers the close handshake: the
    verdict (up, with the message lag) stands, and the connection is dropped afterwards."""
    connected = asyncio.Event()
    dropped = asyncio.Event()

    async def push_only(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        connected.set()
        try:
            while True:  # never calls receive(), so the client's close frame stays unread
                await ws.send_str(json.dumps({"ts": time.time()}))
                await asyncio.sleep(0.2)
        except ConnectionError:
            pass
        finally:
            dropped.set()
        return ws

    app = web.Application()
    app.router.add_get("/push", push_only)
    url = (await serve(app)).replace("http://", "ws://")
    target = target_from(ws(f"{url}/push", "      timestamp_field: ts\n"), timeout="1s")
    result = await run_probe(target, ctx)
    assert result.success, result.message
    assert result.reason is None
    assert result.health == Health.HEALTHY
    assert result.message_lag is not None
    assert -1 < result.message_lag < 1
    assert connected.is_set()
    await asyncio.wait_for(dropped.wait(), 10)  # the server sees the connection go
    await ctx.wait_closing()
    connector = ctx.websocket.connector
    assert connector is not None
    assert not connector._acquired  # no WebSocket connection left open in the client session


@pytest.fixture
async def tcp_server() -> AsyncIterator[tuple[str, int]]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        if line.strip() == b"PING":
            writer.write(b"+PONG\r\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield "127.0.0.1", port
    server.close()
    await server.wait_closed()


async def test_tcp_open_closed_and_send_expect(probe: ProbeFn, tcp_server: tuple[str, int]) -> None:
    host, port = tcp_server
    opened = await probe(f"    tcp: {{address: '{host}:{port}'}}\n")
    assert opened.success
    assert "connect" in opened.phases
    pong = await probe(
        f"    tcp:\n      address: '{host}:{port}'\n      send: \"PING\\r\\n\"\n"
        "      expect: '^\\+PONG'\n"
    )
    assert pong.success, pong.message
    wrong = await probe(
        f"    tcp:\n      address: '{host}:{port}'\n      send: \"HELLO\\r\\n\"\n"
        "      expect: PONG\n"
    )
    assert wrong.reason == FailureReason.BODY


async def test_tcp_closed_port_and_silent_peer(probe: ProbeFn) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    closed = await probe(f"    tcp: {{address: '127.0.0.1:{free}'}}\n")
    assert closed.reason == FailureReason.CONNECT

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        result = await probe(
            f"    tcp: {{address: '127.0.0.1:{port}', expect: banner}}\n", timeout="300ms"
        )
        assert result.reason == FailureReason.TIMEOUT
    finally:
        server.close()


STATUS = {
    "daemon": "stress",
    "instance_id": "i-1",
    "started_at": 1732400000.0,
    "patches": {"started": 10, "completed": 8, "failed": 1, "timeout": 0, "in_flight": 1},
    "duration_seconds": {
        "buckets": {"0.1": 0, "0.5": 3, "1": 9, "+Inf": 9},
        "sum": 6.4,
        "count": 9,
    },
}


def _broken(**changes: object) -> dict[str, object]:
    data = json.loads(json.dumps(STATUS))
    for path, value in changes.items():
        node = data
        keys = path.split("__")
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return data


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (STATUS, None),
        (_broken(patches__failed=-1), "patches.failed is negative"),
        (
            _broken(patches__completed=7),
            "patches do not add up: started != completed+failed+timeout+in_flight",
        ),
        (
            _broken(duration_seconds__buckets={"0.1": 5, "1": 3, "+Inf": 9}),
            "duration_seconds.buckets are not cumulative counts",
        ),
        (
            _broken(duration_seconds__buckets={"0.1": 1, "1": 9}),
            "duration_seconds.buckets has no +Inf bucket",
        ),
        (_broken(instance_id=""), "instance_id must be a non-empty string"),
        ("not json", "answer is not valid JSON"),
        ([1, 2], "answer is not a JSON object"),
    ],
)
async def test_daemon_protocol(
    ctx: ProbeContext, serve: ServeFn, body: object, message: str | None
) -> None:
    async def status(request: web.Request) -> web.Response:
        if isinstance(body, str):
            return web.Response(text=body)
        return web.json_response(body)

    app = web.Application()
    app.router.add_get("/api/status", status)
    url = await serve(app)
    target = parse_config(f"daemons:\n  - name: stress\n    url: {url}\n").targets[0]
    result = await run_probe(target, ctx)
    if message is None:
        assert result.success
        assert result.daemon is not None
        assert result.daemon.completed == 8
        assert result.daemon.buckets[-1] == (float("inf"), 9)
    else:
        assert result.reason == FailureReason.PROTOCOL
        assert result.message == message
        assert result.daemon is None
