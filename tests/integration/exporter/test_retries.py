"""Retries within a probe, against real loopback servers: any attempt succeeding is a success,
every attempt is counted, and the whole probe stays within the target's timeout."""

from __future__ import annotations

import asyncio

from aiohttp import web
from bench.reference import TargetCollector
from prometheus_client import CollectorRegistry

from ghost_exporter.probes import FailureReason, ProbeContext
from ghost_exporter.probes.timeout import run_probe
from ghost_exporter.store import ResultStore
from tests.conftest import ServeFn
from tests.integration.exporter.conftest import target_from


def _flaky_app(seen: list[int]) -> web.Application:
    """``/flaky`` fails every other request (503, 200, 503, 200, …); ``/down`` always 503."""

    async def flaky(request: web.Request) -> web.Response:
        seen.append(1)
        return web.Response(status=503 if len(seen) % 2 else 200, text="x")

    async def down(request: web.Request) -> web.Response:
        seen.append(1)
        return web.Response(status=503, text="x")

    async def slow(request: web.Request) -> web.Response:
        seen.append(1)
        await asyncio.sleep(10)
        return web.Response(text="late")

    app = web.Application()
    app.router.add_get("/flaky", flaky)
    app.router.add_get("/down", down)
    app.router.add_get("/slow", slow)
    return app


async def test_retries_hide_a_flaky_target_and_attempts_show_it(
    serve: ServeFn, ctx: ProbeContext
) -> None:
    seen: list[int] = []
    base = await serve(_flaky_app(seen))
    target = target_from(
        f"    retries: 2\n    retry_delay: 10ms\n    http:\n      url: {base}/flaky\n"
    )
    store = ResultStore()
    store.sync([target])
    probes = 10
    for _ in range(probes):
        result = await run_probe(target, ctx)
        assert result.success, result.message
        assert result.attempts == 2
        assert result.status_code == 200  # the last attempt's
        store.record(target, result)
    assert len(seen) == 2 * probes
    registry = CollectorRegistry()
    registry.register(TargetCollector(store.states()))
    labels = {"service": "t"}
    assert registry.get_sample_value("ghost_service_up", labels) == 1.0
    assert registry.get_sample_value("ghost_probes_total", labels) == probes
    assert registry.get_sample_value("ghost_probe_attempts_total", labels) == 2 * probes


async def test_without_retries_the_flaky_target_fails_every_other_probe(
    serve: ServeFn, ctx: ProbeContext
) -> None:
    seen: list[int] = []
    base = await serve(_flaky_app(seen))
    target = target_from(f"    http:\n      url: {base}/flaky\n")
    outcomes = [(await run_probe(target, ctx)).success for _ in range(4)]
    assert outcomes == [False, True, False, True]
    assert len(seen) == 4


async def test_a_target_that_stays_down_uses_every_retry_and_reports_the_last(
    serve: ServeFn, ctx: ProbeContext
) -> None:
    seen: list[int] = []
    base = await serve(_flaky_app(seen))
    target = target_from(
        f"    retries: 3\n    retry_delay: 1ms\n    http:\n      url: {base}/down\n"
    )
    result = await run_probe(target, ctx)
    assert not result.success
    assert result.reason is FailureReason.STATUS
    assert result.status_code == 503
    assert result.attempts == 4
    assert len(seen) == 4


async def test_retries_never_extend_the_timeout(serve: ServeFn, ctx: ProbeContext) -> None:
    seen: list[int] = []
    base = await serve(_flaky_app(seen))
    target = target_from(
        f"    retries: 5\n    retry_delay: 10ms\n    http:\n      url: {base}/slow\n",
        timeout="300ms",
    )
    result = await run_probe(target, ctx)
    assert not result.success
    assert result.reason is FailureReason.TIMEOUT
    assert result.attempts == 1  # the first attempt used the whole timeout
    assert len(seen) == 1


async def test_no_retry_starts_when_its_delay_would_outlast_the_timeout(
    serve: ServeFn, ctx: ProbeContext
) -> None:
    seen: list[int] = []
    base = await serve(_flaky_app(seen))
    target = target_from(
        f"    retries: 5\n    retry_delay: 5s\n    http:\n      url: {base}/down\n",
        timeout="1s",
    )
    result = await run_probe(target, ctx)
    assert result.reason is FailureReason.STATUS  # the failure seen, not a timeout
    assert result.attempts == 1
    assert len(seen) == 1
