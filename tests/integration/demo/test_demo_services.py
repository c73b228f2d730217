"""The demo services over real HTTP and WebSocket: health, telemetry, status-api, patch events."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import aiohttp
import pytest

from .conftest import SERVICES, TELEMETRY_INTERVAL, DemoProcess


def test_port_file_names_every_listener(demo: DemoProcess) -> None:
    assert set(demo.ports) == {"dual-monitor", "telemetry-api", "status-api", "control"}
    assert len(set(demo.ports.values())) == 4
    assert all(port > 0 for port in demo.ports.values())


@pytest.mark.parametrize("service", SERVICES)
async def test_health(demo: DemoProcess, http: aiohttp.ClientSession, service: str) -> None:
    async with http.get(demo.url(service, "/health")) as response:
        assert response.status == 200
        body = await response.json()
    assert set(body) == {"status", "uptime_seconds", "service"}
    assert body["status"] == "healthy"
    assert body["service"] == service
    assert body["uptime_seconds"] >= 0


async def test_services_status(demo: DemoProcess, http: aiohttp.ClientSession) -> None:
    async with http.get(demo.url("status-api", "/api/services/status")) as response:
        assert response.status == 200
        body = await response.json()
    assert body["status"] == "healthy"
    assert set(body["services"]) == set(SERVICES)
    assert {detail["status"] for detail in body["services"].values()} == {"healthy"}


async def test_telemetry_websocket(demo: DemoProcess, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(demo.ws_url("telemetry-api")) as ws:
        connected = time.time()
        first = await ws.receive_json(timeout=TELEMETRY_INTERVAL / 2)
        await ws.send_json({"type": "subscribe"})
        second = await ws.receive_json(timeout=5)
        third = await ws.receive_json(timeout=5)
    assert first["type"] == "telemetry"
    assert abs(first["ts"] - connected) < 2
    assert first["seq"] < second["seq"] < third["seq"]
    assert all(message["type"] == "telemetry" for message in (second, third))
    assert third["ts"] - second["ts"] == pytest.approx(TELEMETRY_INTERVAL, abs=0.15)


async def test_status_api_patch_events(demo: DemoProcess, http: aiohttp.ClientSession) -> None:
    event = {"seq": 1, "ts": time.time(), "type": "started", "patch_id": "p-1", "daemon": "t"}
    async with http.ws_connect(demo.ws_url("status-api")) as ws:
        async with http.post(demo.url("status-api", "/api/patches"), json=event) as response:
            assert response.status == 202
        pushed = await ws.receive_json(timeout=5)
    assert pushed["type"] == "patch"
    assert pushed["event"] == event
    async with http.get(demo.url("status-api", "/api/patches?limit=1")) as response:
        listed = await response.json()
    assert [item["event"] for item in listed["patches"]] == [event]
    assert listed["patches"][0]["received_at"] == pytest.approx(pushed["ts"])


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "not json", "42"])
async def test_status_api_rejects_events_that_are_not_objects(
    demo: DemoProcess, http: aiohttp.ClientSession, body: str
) -> None:
    url = demo.url("status-api", "/api/patches")
    async with http.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
        assert response.status == 400
        assert "error" in await response.json()
    async with http.get(f"{url}?limit=-1") as response:
        assert response.status == 400


async def test_stress_reports_to_the_status_api(
    demo: DemoProcess, http: aiohttp.ClientSession
) -> None:
    url = demo.url("status-api", "/api/patches")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ghost_stress.cli", "run", "--patches", "5", "--duration", "0",
        "--listen", "none", "--name", "stress-demo", "--report-to", url, "--json",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err
    assert b'"reports": {"sent": 10, "failed": 0, "dropped": 0}' in out
    async with http.get(f"{url}?limit=1000") as response:
        listed = await response.json()
    events = [
        item["event"] for item in listed["patches"] if item["event"]["daemon"] == "stress-demo"
    ]
    assert len(events) == 10
    assert sorted(event["seq"] for event in events) == list(range(1, 11))


async def test_sigterm_closes_websockets_and_exits_quickly(
    own_demo: Callable[..., DemoProcess], http: aiohttp.ClientSession
) -> None:
    demo = own_demo()
    async with http.ws_connect(demo.ws_url("telemetry-api")) as ws:
        await ws.receive_json(timeout=5)
        began = time.monotonic()
        demo.process.send_signal(signal.SIGTERM)
        message = await ws.receive(timeout=5)
        while message.type is aiohttp.WSMsgType.TEXT:
            message = await ws.receive(timeout=5)
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert message.data == aiohttp.WSCloseCode.GOING_AWAY
    code = await asyncio.to_thread(demo.process.wait, 5)
    assert code == 0
    assert time.monotonic() - began < 2
