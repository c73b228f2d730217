"""interval_when_failing against a real loopback server that goes down and comes back: the
scheduler probes it faster while it fails and returns to its interval after it recovers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from ghost_exporter.config import Target, parse_config
from ghost_exporter.probes import ProbeContext, ProbeResult
from ghost_exporter.probes.timeout import run_probe
from ghost_exporter.scheduler import Scheduler
from tests.conftest import ServeFn


class Switchable:
    """``/health`` answers 200 healthy, or 503 while ``down``; every request is counted."""

    def __init__(self) -> None:
        self.down = False
        self.requests = 0

    def app(self) -> web.Application:
        async def health(request: web.Request) -> web.Response:
            self.requests += 1
            if self.down:
                return web.json_response({"status": "down"}, status=503)
            return web.json_response({"status": "healthy"})

        app = web.Application()
        app.router.add_get("/health", health)
        return app


@pytest.fixture
async def scheduled(ctx: ProbeContext) -> AsyncIterator[tuple[Scheduler, list[float]]]:
    lags: list[float] = []
    results: list[ProbeResult] = []

    def on_result(target: Target, result: ProbeResult) -> None:
        results.append(result)

    scheduler = Scheduler(lambda t: run_probe(t, ctx), on_result, lags.append)
    task = asyncio.create_task(scheduler.run())
    yield scheduler, lags
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _count_in(server: Switchable, seconds: float) -> int:
    before = server.requests
    await asyncio.sleep(seconds)
    return server.requests - before


async def _until(predicate: object, seconds: float = 5.0) -> None:
    assert callable(predicate)
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def test_a_target_that_goes_down_is_rechecked_faster_until_it_recovers(
    serve: ServeFn, scheduled: tuple[Scheduler, list[float]]
) -> None:
    scheduler, lags = scheduled
    server = Switchable()
    base = await serve(server.app())
    (target,) = parse_config(
        "services:\n  - name: t\n    interval: 3s\n    timeout: 100ms\n"
        "    interval_when_failing: 150ms\n"
        f"    http:\n      url: {base}/health\n      health_field: status\n"
    ).targets
    scheduler.set_targets([target])
    server.down = True
    await _until(lambda: "t" in scheduler.failing)
    # About 10 probes in 1.5 s while failing; at the 3 s interval there would be at most one.
    assert await _count_in(server, 1.5) >= 4
    server.down = False
    await _until(lambda: "t" not in scheduler.failing)
    assert scheduler.period(target) == 3.0
    # Back on the 3 s interval: at most one probe in the next second and a half.
    assert await _count_in(server, 1.5) <= 1
    assert len(lags) == server.requests
