"""Every fault mode, as a client sees it over HTTP and WebSocket, and the control listener."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from .conftest import SERVICES, SLOW_DELAY, DemoProcess


async def _fault(
    http: aiohttp.ClientSession, demo: DemoProcess, service: str, body: object
) -> aiohttp.ClientResponse:
    async with http.post(demo.url(service, "/-/fault"), json=body) as response:
        await response.read()
        return response


async def _health(http: aiohttp.ClientSession, demo: DemoProcess, service: str) -> tuple[int, str]:
    async with http.get(demo.url(service, "/health")) as response:
        return response.status, (await response.json())["status"]


async def _overall(http: aiohttp.ClientSession, demo: DemoProcess) -> dict[str, object]:
    async with http.get(demo.url("status-api", "/api/services/status")) as response:
        body: dict[str, object] = await response.json()
        return body


async def _refused(http: aiohttp.ClientSession, url: str, timeout: float = 5.0) -> bool:
    """True once connecting to ``url`` is refused (within ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            async with http.get(url, timeout=aiohttp.ClientTimeout(total=1)) as response:
                await response.read()
        except aiohttp.ClientConnectorError:
            return True
        await asyncio.sleep(0.05)
    return False


@pytest.mark.parametrize(
    ("mode", "code"), [("degraded", 200), ("unhealthy", 503), ("healthy", 200)]
)
@pytest.mark.parametrize("service", SERVICES)
async def test_health_follows_the_fault(
    demo: DemoProcess, http: aiohttp.ClientSession, service: str, mode: str, code: int
) -> None:
    response = await _fault(http, demo, service, {"mode": mode})
    assert response.status == 200
    assert await _health(http, demo, service) == (code, mode)
    async with http.delete(demo.url(service, "/-/fault")) as response:
        assert response.status == 200
    assert await _health(http, demo, service) == (200, "healthy")


async def test_status_api_summarises_the_faults(
    demo: DemoProcess, http: aiohttp.ClientSession
) -> None:
    await _fault(http, demo, "dual-monitor", {"mode": "degraded"})
    body = await _overall(http, demo)
    assert body["status"] == "degraded"
    assert body["services"] == {
        "dual-monitor": {"status": "degraded", "fault": "degraded"},
        "telemetry-api": {"status": "healthy", "fault": "healthy"},
        "status-api": {"status": "healthy", "fault": "healthy"},
    }
    demo.control("POST", "/-/fault/telemetry-api", {"mode": "down"})
    body = await _overall(http, demo)
    assert body["status"] == "unhealthy"
    services = body["services"]
    assert isinstance(services, dict)
    assert services["telemetry-api"] == {"status": "down", "fault": "down"}


async def test_down_refuses_connections_until_the_control_listener_heals_it(
    demo: DemoProcess, http: aiohttp.ClientSession
) -> None:
    port = demo.ports["dual-monitor"]
    response = await _fault(http, demo, "dual-monitor", {"mode": "down"})
    assert response.status == 200
    assert await _refused(http, demo.url("dual-monitor", "/health"))
    faults = demo.control("GET", "/-/faults")["faults"]
    assert faults["dual-monitor"]["mode"] == "down"
    assert faults["dual-monitor"]["running"] is False
    healed = demo.control("DELETE", "/-/fault/dual-monitor")
    assert (healed["mode"], healed["running"], healed["port"]) == ("healthy", True, port)
    assert await _health(http, demo, "dual-monitor") == (200, "healthy")


async def test_down_telemetry_refuses_websockets(
    demo: DemoProcess, http: aiohttp.ClientSession
) -> None:
    assert demo.control("POST", "/-/fault/telemetry-api", {"mode": "down"})["running"] is False
    with pytest.raises(aiohttp.ClientConnectorError):
        await http.ws_connect(demo.ws_url("telemetry-api"))
    demo.control("POST", "/-/fault/telemetry-api", {"mode": "healthy"})
    async with http.ws_connect(demo.ws_url("telemetry-api")) as ws:
        assert (await ws.receive_json(timeout=5))["type"] == "telemetry"


async def test_restart_resets_fault_and_uptime_on_the_same_port(
    demo: DemoProcess, http: aiohttp.ClientSession
) -> None:
    await _fault(http, demo, "status-api", {"mode": "degraded"})
    await asyncio.sleep(0.3)
    before = demo.control("GET", "/-/faults")["faults"]["status-api"]
    restarted = demo.control("POST", "/-/restart/status-api")
    assert restarted["mode"] == "healthy"
    assert restarted["port"] == before["port"] == demo.ports["status-api"]
    assert restarted["uptime_seconds"] < before["uptime_seconds"]
    assert await _health(http, demo, "status-api") == (200, "healthy")


async def test_slow_delays_every_answer(demo: DemoProcess, http: aiohttp.ClientSession) -> None:
    await _fault(http, demo, "dual-monitor", {"mode": "slow", "delay": "250ms"})
    began = time.monotonic()
    assert await _health(http, demo, "dual-monitor") == (200, "healthy")
    assert time.monotonic() - began >= 0.25
    faults = demo.control("GET", "/-/faults")["faults"]
    assert faults["dual-monitor"]["delay_seconds"] == 0.25

    demo.control("POST", "/-/fault/telemetry-api", {"mode": "slow"})  # --slow-delay
    began = time.monotonic()
    async with http.ws_connect(demo.ws_url("telemetry-api")) as ws:
        await ws.receive_json(timeout=5)
    assert time.monotonic() - began >= SLOW_DELAY


async def test_stale_telemetry_is_a_minute_old(
    demo: DemoProcess, http: aiohttp.ClientSession
) -> None:
    await _fault(http, demo, "telemetry-api", {"mode": "stale"})
    async with http.ws_connect(demo.ws_url("telemetry-api")) as ws:
        first = await ws.receive_json(timeout=5)
        second = await ws.receive_json(timeout=5)
    for message in (first, second):
        assert time.time() - message["ts"] == pytest.approx(60, abs=5)
    assert await _health(http, demo, "telemetry-api") == (200, "healthy")


async def test_error_answers_500_everywhere_but_the_fault_route(
    demo: DemoProcess, http: aiohttp.ClientSession
) -> None:
    await _fault(http, demo, "status-api", {"mode": "error"})
    for path in ("/health", "/api/services/status", "/api/patches", "/api/alerts", "/nowhere"):
        async with http.get(demo.url("status-api", path)) as response:
            assert response.status == 500, path
            assert "error" in await response.json()
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await http.ws_connect(demo.ws_url("status-api"))
    async with http.delete(demo.url("status-api", "/-/fault")) as response:
        assert response.status == 200
    assert await _health(http, demo, "status-api") == (200, "healthy")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"mode": "broken"}, "invalid mode 'broken'"),
        ({}, "invalid mode None"),
        ({"mode": "degraded", "delay": "1s"}, "delay applies to the slow and lagging modes only"),
        ({"mode": "slow", "delay": "soon"}, "invalid duration"),
        ({"mode": "slow", "delay": "2"}, "invalid duration '2': a number needs a unit: write 2s"),
        ({"mode": "slow", "delay": -1}, "finite number of seconds"),
        ({"mode": "down", "extra": 1}, "unknown keys ['extra']"),
        ([1], "must be a JSON object"),
    ],
)
async def test_bad_fault_requests_are_400(
    demo: DemoProcess, http: aiohttp.ClientSession, body: object, message: str
) -> None:
    response = await _fault(http, demo, "dual-monitor", body)
    assert response.status == 400
    answer = demo.control("POST", "/-/fault/dual-monitor", body)
    assert answer["http_status"] == 400
    assert message in answer["error"]
    assert await _health(http, demo, "dual-monitor") == (200, "healthy")


def test_unknown_service_is_404(demo: DemoProcess) -> None:
    for method, path in [
        ("POST", "/-/fault/nope"),
        ("DELETE", "/-/fault/nope"),
        ("POST", "/-/restart/nope"),
    ]:
        answer = demo.control(method, path, {"mode": "down"} if method == "POST" else None)
        assert answer["http_status"] == 404
        assert "unknown service 'nope'" in answer["error"]


def test_control_lists_every_service(demo: DemoProcess) -> None:
    faults = demo.control("GET", "/-/faults")["faults"]
    assert set(faults) == set(SERVICES)
    for name, state in faults.items():
        assert state["mode"] == "healthy"
        assert state["running"] is True
        assert state["port"] == demo.ports[name]
