"""``ghost-stress daemon`` under abuse: hostile cursors and limits on ``/api/patches``, a thousand
WebSocket clients that never read, and ``--report-to`` a sink that hangs. The daemon keeps its
accounting (started = completed + failed + timeout + in flight at every read), keeps its rate,
and its memory stays bounded."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.exporter.hostile.servers import LoopThread, silent, slowloris
from tests.integration.stress.abuse.conftest import Stress, Vitals

StartStress = Callable[..., Stress]
#: Generous ceiling for the daemon's resident memory (bytes); it idles around 40 MB.
RSS_CEILING = 300 * 1024 * 1024


def _status_of(url: str) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _rate_held(vitals: Vitals, rate: float, seconds: float, check: Callable[[], object]) -> None:
    """Watch the daemon for ``seconds``: started patches follow ``rate`` (loosely), memory stays
    under the ceiling, and ``check`` holds at every look."""
    first, began = vitals.started(), time.monotonic()
    while time.monotonic() - began < seconds:
        time.sleep(0.5)
        assert vitals.rss() < RSS_CEILING
        check()
    elapsed = time.monotonic() - began
    started = vitals.started() - first
    assert 0.5 * rate * elapsed <= started <= 1.5 * rate * elapsed + 5, (started, elapsed)


def test_patches_api_refuses_or_clamps_hostile_cursors(stress: StartStress) -> None:
    daemon = stress("daemon", "--rate", "50/s", "--duration", "10ms-50ms", "--concurrency", "20")
    vitals = Vitals(daemon)
    time.sleep(0.5)
    base = daemon.url("/api/patches")
    huge = "9" * 5000  # more digits than Python converts to an int
    cases = {
        f"?limit={10**30}": 200,
        f"?limit={huge}": 400,
        "?limit=-1": 400,
        "?limit=1e9": 400,
        "?limit=0": 200,
        "?after=-1": 400,
        f"?after={10**20}": 200,
        f"?after={huge}": 400,
        "?after=abc": 400,
        "?after=%00": 400,
        "?after=%EF%BC%91%EF%BC%92": 400,  # fullwidth digits: not ASCII
        "?after=1&after=-5&limit=2&limit=x": 200,
    }
    for query, expected in cases.items():
        status, body = _status_of(base + query)
        assert status == expected, (query, body)
        if status == 200:
            assert isinstance(body, dict)
            assert len(body["events"]) <= 1000
    future = _status_of(base + f"?after={10**20}")[1]
    assert isinstance(future, dict)
    assert future["events"] == []
    assert future["next_after"] == 10**20
    assert future["dropped"] is False

    def page(_: int) -> int:
        return _status_of(base + f"?after=0&limit={10**9}")[0]

    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(page, range(200))) == {200}
    _rate_held(vitals, 50, 2.0, vitals.status)


def _ws_client(port: int) -> socket.socket:
    """Open a WebSocket and never read from it (a tiny receive buffer fills at once)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    sock.settimeout(10)
    assert sock.recv(12) == b"HTTP/1.1 101"
    return sock


def _idle_fds(vitals: Vitals) -> int:
    """The daemon's open files once the status request's connection is closed on its side too
    (on a busy machine that can take a moment): the least count seen over two seconds."""
    count = vitals.fds()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        time.sleep(0.1)
        count = min(count, vitals.fds())
    return count


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    try:
        yield opened
    finally:
        for sock in opened:
            sock.close()


def test_a_thousand_websocket_clients_that_never_read(
    stress: StartStress, sockets: list[socket.socket]
) -> None:
    daemon = stress("daemon", "--rate", "100/s", "--duration", "10ms-30ms", "--concurrency", "50")
    vitals = Vitals(daemon)
    port = daemon.port()
    vitals.status()
    idle_fds, idle_rss = _idle_fds(vitals), vitals.rss()
    with ThreadPoolExecutor(20) as pool:
        sockets.extend(pool.map(lambda _: _ws_client(port), range(1000)))
    assert vitals.fds() >= idle_fds + 1000
    _rate_held(vitals, 100, 6.0, vitals.status)
    assert vitals.rss() < idle_rss + 150 * 1024 * 1024
    for sock in sockets:
        sock.close()
    sockets.clear()
    deadline = time.monotonic() + 10
    while vitals.fds() > idle_fds and time.monotonic() < deadline:
        time.sleep(0.2)
    assert vitals.fds() <= idle_fds  # every client's socket is closed: nothing leaks
    vitals.status()


@pytest.fixture(params=["silent", "slowloris"])
def hanging_sink(request: pytest.FixtureRequest) -> Iterator[str]:
    """A --report-to URL whose server accepts and then never answers (or trickles headers)."""
    handler = silent if request.param == "silent" else slowloris
    with LoopThread() as loop_thread:

        async def start() -> int:
            server = await asyncio.start_server(handler, "127.0.0.1", 0)

            async def close() -> None:
                server.close()

            loop_thread.on_close(close)
            port: int = server.sockets[0].getsockname()[1]
            return port

        port = loop_thread.run(start())
        yield f"http://127.0.0.1:{port}/api/patches"


def test_report_to_a_sink_that_hangs(stress: StartStress, hanging_sink: str) -> None:
    queue = 20
    daemon = stress(
        "daemon", "--rate", "50/s", "--duration", "10ms-50ms", "--concurrency", "20",
        "--report-to", hanging_sink, "--report-timeout", "300ms", "--report-retries", "1",
        "--report-queue", str(queue), "--json",
    )  # fmt: skip
    vitals = Vitals(daemon)

    def reports_add_up() -> None:
        before = vitals.get("/api/patches?after=0&limit=1")["last_seq"]
        reports = vitals.status()["reports"]
        after = vitals.get("/api/patches?after=0&limit=1")["last_seq"]
        accounted = reports["sent"] + reports["failed"] + reports["dropped"]
        assert reports["sent"] == 0
        # Every event is sent, failed, dropped or pending, and pending is bounded by the queue
        # (plus the one being delivered): the backlog of a hanging sink cannot grow.
        assert accounted <= after
        assert before - accounted <= queue + 1

    _rate_held(vitals, 50, 4.0, reports_add_up)
    status = vitals.status()
    assert status["reports"]["dropped"] > 0
    stopping = time.monotonic()
    daemon.process.send_signal(signal.SIGTERM)
    code, summary, err = daemon.summary(timeout=20)
    assert code == 0, err
    assert time.monotonic() - stopping < 15
    assert summary["total"] == summary["completed"] + summary["failed"] + summary["timeout"]
