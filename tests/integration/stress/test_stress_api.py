"""The status API of a daemon running in this process, served on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiohttp
import pytest

from ghost_common.hub import Hub
from ghost_common.serving import start
from ghost_stress.accounting import Accounting
from ghost_stress.api import HUB, create_app
from ghost_stress.executor import Executor
from ghost_stress.patches import SimulatedPatches


async def _eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until ``condition()`` holds; fail after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - polling a plain attribute, not an event
            await asyncio.sleep(0.01)


async def _connected(hub: Hub) -> None:
    await _eventually(lambda: hub.client_count == 1)


@dataclass
class Daemon:
    accounting: Accounting
    executor: Executor
    hub: Hub
    base: str


async def _daemon(
    event_buffer: int = 10_000, duration: tuple[float, float] = (0.0, 0.0), ws_queue: int = 1024
) -> AsyncIterator[Daemon]:
    accounting = Accounting("stress-test", event_buffer=event_buffer)
    executor = Executor(accounting, SimulatedPatches(duration, failure_rate=0.25, seed=5))
    app = create_app(accounting, executor=executor, ws_queue=ws_queue)
    runner, port = await start(app, "127.0.0.1", 0)
    try:
        yield Daemon(accounting, executor, app[HUB], f"http://127.0.0.1:{port}")
    finally:
        executor.abort()
        await runner.cleanup()


@pytest.fixture
async def daemon() -> AsyncIterator[Daemon]:
    async for value in _daemon():
        yield value


@pytest.fixture
async def small_buffer_daemon() -> AsyncIterator[Daemon]:
    async for value in _daemon(event_buffer=8):
        yield value


async def test_status_has_the_protocol_shape(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await daemon.executor.run_batch(20, 4)
    async with http.get(f"{daemon.base}/api/status") as response:
        assert response.status == 200
        body = await response.json()
    assert set(body) == {
        "daemon", "instance_id", "started_at", "patches", "duration_seconds", "canaries",
        "skipped",
    }  # fmt: skip
    assert body["daemon"] == "stress-test"
    assert len(body["instance_id"]) == 32
    int(body["instance_id"], 16)
    assert body["started_at"] == pytest.approx(time.time(), abs=60)
    patches = body["patches"]
    assert set(patches) == {"started", "completed", "failed", "timeout", "in_flight"}
    assert patches["started"] == 20
    assert patches["completed"] + patches["failed"] + patches["timeout"] == 20
    assert patches["in_flight"] == 0
    histogram = body["duration_seconds"]
    assert list(histogram["buckets"]) == [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30",
        "60", "+Inf",
    ]  # fmt: skip
    assert histogram["buckets"]["0.005"] == histogram["buckets"]["+Inf"] == histogram["count"]
    assert histogram["count"] == 20
    assert histogram["sum"] >= 0.0


async def test_status_reads_add_up_while_patches_run(http: aiohttp.ClientSession) -> None:
    async for daemon in _daemon(duration=(0.0, 0.01)):
        run = asyncio.create_task(daemon.executor.run_batch(400, 16))
        reads = 0
        while not run.done() or reads == 0:
            async with http.get(f"{daemon.base}/api/status") as response:
                patches = (await response.json())["patches"]
            finished = patches["completed"] + patches["failed"] + patches["timeout"]
            assert patches["started"] == finished + patches["in_flight"]
            assert patches["in_flight"] <= 16
            reads += 1
        await run
        assert reads > 1


async def test_healthy(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{daemon.base}/-/healthy") as response:
        assert response.status == 200
        assert "healthy" in await response.text()


async def test_ready(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{daemon.base}/-/ready") as response:
        assert response.status == 200


async def test_event_log_cursor_and_gap(
    small_buffer_daemon: Daemon, http: aiohttp.ClientSession
) -> None:
    daemon = small_buffer_daemon
    await daemon.executor.run_batch(10, 1)  # 20 events, the last 8 kept
    async with http.get(f"{daemon.base}/api/patches", params={"after": "0"}) as response:
        page = await response.json()
    assert [event["seq"] for event in page["events"]] == list(range(13, 21))
    assert page["dropped"] is True
    assert page["oldest_seq"] == 13
    assert page["next_after"] == 20

    async with http.get(f"{daemon.base}/api/patches?after=16&limit=2") as response:
        page = await response.json()
    assert [event["seq"] for event in page["events"]] == [17, 18]
    assert page["dropped"] is False
    assert page["next_after"] == 18
    started, finished = page["events"]
    assert started["type"] == "started"
    assert finished["type"] in ("completed", "failed")
    assert finished["patch_id"] == started["patch_id"]
    assert finished["daemon"] == "stress-test"
    assert finished["exit_code"] is None
    assert finished["duration_seconds"] >= 0.0

    async with http.get(f"{daemon.base}/api/patches?after=1000") as response:
        page = await response.json()
    assert page["events"] == []
    assert page["next_after"] == 1000
    assert page["dropped"] is False


async def test_event_log_clamps_a_huge_limit(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    await daemon.executor.run_batch(700, 8)
    async with http.get(f"{daemon.base}/api/patches?after=0&limit=999999999") as response:
        assert response.status == 200
        page = await response.json()
    assert len(page["events"]) == 1000
    assert page["next_after"] == 1000
    async with http.get(f"{daemon.base}/api/patches") as response:
        assert len((await response.json())["events"]) == 100


@pytest.mark.parametrize(
    "query", ["after=-1", "after=abc", "after=1.5", "limit=-5", "limit=x", "after=", "limit=1e3"]
)
async def test_event_log_rejects_bad_parameters(
    daemon: Daemon, http: aiohttp.ClientSession, query: str
) -> None:
    async with http.get(f"{daemon.base}/api/patches?{query}") as response:
        assert response.status == 400
        body = await response.json()
    assert "must be a non-negative integer" in body["error"]


async def test_websocket_pushes_every_event(daemon: Daemon, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(f"{daemon.base}/ws") as ws:
        await ws.send_json({"type": "subscribe"})
        await _connected(daemon.hub)
        await daemon.executor.run_batch(15, 3)
        messages = [await ws.receive_json(timeout=5) for _ in range(30)]
    assert [message["seq"] for message in messages] == list(range(1, 31))
    assert sum(message["type"] == "started" for message in messages) == 15
    assert {message["daemon"] for message in messages} == {"stress-test"}


async def test_a_client_that_never_reads_is_disconnected(
    daemon: Daemon, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(f"{daemon.base}/ws") as ws:
        await _connected(daemon.hub)
        await asyncio.wait_for(daemon.executor.run_batch(30_000, 64), 30)
        counts = daemon.accounting.counts()
        assert counts.started == counts.finished == 30_000
        await _eventually(lambda: daemon.hub.client_count == 0 and daemon.hub.evicted == 1)
        async with asyncio.timeout(10):
            while True:
                message = await ws.receive()
                if message.type in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSED,
                    aiohttp.WSMsgType.ERROR,
                ):
                    break
    async with http.get(f"{daemon.base}/api/status") as response:
        assert (await response.json())["patches"]["started"] == 30_000
