"""status-api as an out-of-sync monitor: canaries, and the frozen, lagging and dropping faults."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ghost_demo.faults import FaultMode
from tests.support import run_process

from .conftest import DemoProcess

LAG = 0.6


def _canary(canary_id: str) -> dict[str, Any]:
    return {"seq": 1, "ts": time.time(), "type": "canary", "canary_id": canary_id, "daemon": "t"}


async def _report(http: aiohttp.ClientSession, demo: DemoProcess, event: dict[str, Any]) -> None:
    async with http.post(demo.url("status-api", "/api/patches"), json=event) as response:
        assert response.status == 202


async def _listed(http: aiohttp.ClientSession, demo: DemoProcess) -> list[dict[str, Any]]:
    async with http.get(demo.url("status-api", "/api/patches?limit=1000")) as response:
        assert response.status == 200
        patches: list[dict[str, Any]] = (await response.json())["patches"]
        return patches


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["event"].get("canary_id") for item in items if item["event"]["type"] == "canary"]


async def _states(http: aiohttp.ClientSession, demo: DemoProcess) -> dict[str, str]:
    async with http.get(demo.url("status-api", "/api/services/status")) as response:
        assert response.status == 200
        services = (await response.json())["services"]
    return {name: detail["status"] for name, detail in services.items()}


async def _next_canary(ws: aiohttp.ClientWebSocketResponse, timeout: float) -> dict[str, Any]:
    """The next canary message on a status-api WebSocket (patch messages are skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            message: dict[str, Any] = await ws.receive_json()
            if message["type"] == "canary":
                return message


async def test_a_canary_reaches_the_websocket_and_the_event_list(
    demo: DemoProcess, http: aiohttp.ClientSession
) -> None:
    event = _canary("c-plain")
    async with http.ws_connect(demo.ws_url("status-api")) as ws:
        await _report(http, demo, event)
        pushed = await _next_canary(ws, 5)
    assert pushed["event"] == event
    assert "c-plain" in _ids(await _listed(http, demo))


async def test_a_stress_canary_reaches_the_demo_websocket(
    demo: DemoProcess, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """The whole path the exporter's pipeline times: ghost-stress → --report-to → status-api."""
    port_file = tmp_path / "stress.port"
    argv = [
        sys.executable, "-m", "ghost_stress.cli", "daemon", "--rate", "1/h", "--duration", "0",
        "--listen", "127.0.0.1:0", "--port-file", str(port_file),
        "--report-to", demo.url("status-api", "/api/patches"),
    ]  # fmt: skip
    with run_process(argv, tmp_path, "stress", port_file) as (_, port):
        async with http.ws_connect(demo.ws_url("status-api")) as ws:
            url = f"http://127.0.0.1:{port}/api/canary"
            async with http.post(url, json={"id": "through-stress"}) as response:
                assert response.status == 202
            pushed = await _next_canary(ws, 10)
    assert pushed["event"]["canary_id"] == "through-stress"
    assert pushed["event"]["daemon"] == "stress"
    assert "through-stress" in _ids(await _listed(http, demo))


async def test_frozen_keeps_answering_the_states_it_had(
    demo: DemoProcess, http: aiohttp.ClientSession
) -> None:
    demo.control("POST", "/-/fault/telemetry-api", {"mode": "degraded"})
    frozen = demo.control("POST", "/-/fault/status-api", {"mode": "frozen"})
    assert (frozen["mode"], frozen["status"]) == ("frozen", "healthy")
    demo.control("POST", "/-/fault/dual-monitor", {"mode": "down"})
    demo.control("DELETE", "/-/fault/telemetry-api")
    faults = demo.control("GET", "/-/faults")["faults"]
    assert faults["dual-monitor"]["status"] == "down"  # what really is
    expected = {"dual-monitor": "healthy", "telemetry-api": "degraded", "status-api": "healthy"}
    assert await _states(http, demo) == expected  # what status-api claims
    async with http.get(demo.url("status-api", "/health")) as response:
        assert (await response.json())["status"] == "healthy"

    demo.control("DELETE", "/-/fault/status-api")
    assert (await _states(http, demo))["dual-monitor"] == "down"


async def test_frozen_begins_afresh_each_time(
    demo: DemoProcess, http: aiohttp.ClientSession
) -> None:
    demo.control("POST", "/-/fault/status-api", {"mode": "frozen"})
    demo.control("POST", "/-/fault/dual-monitor", {"mode": "unhealthy"})
    assert (await _states(http, demo))["dual-monitor"] == "healthy"
    demo.control("DELETE", "/-/fault/status-api")
    demo.control("POST", "/-/fault/status-api", {"mode": "frozen"})
    demo.control("DELETE", "/-/fault/dual-monitor")
    assert (await _states(http, demo))["dual-monitor"] == "unhealthy"


async def test_lagging_publishes_events_only_after_the_delay(
    demo: DemoProcess, http: aiohttp.ClientSession
) -> None:
    answer = demo.control("POST", "/-/fault/status-api", {"mode": "lagging", "delay": LAG})
    assert (answer["mode"], answer["delay_seconds"], answer["status"]) == (
        "lagging",
        LAG,
        "healthy",
    )
    async with http.ws_connect(demo.ws_url("status-api")) as ws:
        posted = time.time()
        await _report(http, demo, _canary("c-late"))
        assert "c-late" not in _ids(await _listed(http, demo))
        pushed = await _next_canary(ws, LAG + 10)
    assert pushed["event"]["canary_id"] == "c-late"
    assert pushed["ts"] - posted >= LAG  # published no earlier than the delay
    listed = await _listed(http, demo)
    assert "c-late" in _ids(listed)


async def test_lagging_default_delay_comes_from_the_flag(
    own_demo: Callable[..., DemoProcess],
) -> None:
    demo = own_demo("--lag-delay", "250ms")
    answer = demo.control("POST", "/-/fault/status-api", {"mode": "lagging"})
    assert answer["delay_seconds"] == 0.25
    answer = demo.control("POST", "/-/fault/status-api", {"mode": "frozen", "delay": "1s"})
    assert answer["http_status"] == 400
    assert answer["error"] == "delay applies to the slow and lagging modes only"


async def test_dropping_accepts_events_and_never_publishes_them(
    demo: DemoProcess, http: aiohttp.ClientSession
) -> None:
    demo.control("POST", "/-/fault/status-api", {"mode": "dropping"})
    async with http.ws_connect(demo.ws_url("status-api")) as ws:
        await _report(http, demo, _canary("c-lost"))
        with pytest.raises(TimeoutError):
            await _next_canary(ws, 1.5)
        assert "c-lost" not in _ids(await _listed(http, demo))
        demo.control("DELETE", "/-/fault/status-api")
        await _report(http, demo, _canary("c-after"))
        pushed = await _next_canary(ws, 5)
    assert pushed["event"]["canary_id"] == "c-after"
    ids = _ids(await _listed(http, demo))
    assert "c-after" in ids
    assert "c-lost" not in ids


@pytest.mark.parametrize("mode", ["frozen", "lagging", "dropping"])
async def test_the_sync_faults_leave_the_status_api_healthy(
    demo: DemoProcess, http: aiohttp.ClientSession, mode: str
) -> None:
    async with http.post(demo.url("status-api", "/-/fault"), json={"mode": mode}) as response:
        assert response.status == 200
    async with http.get(demo.url("status-api", "/health")) as response:
        assert (response.status, (await response.json())["status"]) == (200, "healthy")
    assert (await _states(http, demo))["status-api"] == "healthy"
    assert demo.control("GET", "/-/faults")["faults"]["status-api"]["mode"] == mode


@pytest.mark.parametrize(
    ("service", "mode"),
    [("dual-monitor", "slow"), ("telemetry-api", "stale"), ("status-api", "slow")],
)
async def test_an_honest_status_api_claims_what_health_says(
    demo: DemoProcess, http: aiohttp.ClientSession, service: str, mode: str
) -> None:
    """Slowness and stale telemetry leave /health healthy: status-api must not claim otherwise."""
    demo.control(
        "POST",
        f"/-/fault/{service}",
        {"mode": mode, "delay": "50ms"} if mode == "slow" else {"mode": mode},
    )
    async with http.get(demo.url(service, "/health")) as response:
        health = (await response.json())["status"]
    assert health == "healthy"
    assert (await _states(http, demo))[service] == health


def test_help_lists_every_fault_mode() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ghost_demo.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    for mode in FaultMode:
        assert f"\n  {mode.value} " in result.stdout, mode
