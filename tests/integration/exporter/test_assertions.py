"""CEL assertions on real loopback servers: HTTP bodies and WebSocket first messages, degrading
or failing the probe; the exposition of ghost_probe_assertion_ok; a bad expression refused by the
real ``ghost-exporter validate``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from pathlib import Path

from aiohttp import web
from bench.reference import TargetCollector
from prometheus_client import CollectorRegistry

from ghost_common.cel import Evaluator
from ghost_exporter.probes import FailureReason, Health, ProbeContext
from ghost_exporter.probes.timeout import run_probe
from ghost_exporter.store import ResultStore
from tests.conftest import ServeFn
from tests.integration.exporter.conftest import ProbeFn, health_app, target_from
from tests.support import ThreadedServer, assert_promtool_accepts, cli, run_exporter, wait_until


class Queue:
    """``/queue`` answers ``{"status": "healthy", "queue_depth": depth, "leader": "a"}``;
    ``/ws`` pushes the same as its first message; ``/text`` is not JSON."""

    def __init__(self) -> None:
        self.depth = 5

    def body(self) -> dict[str, object]:
        return {"status": "healthy", "queue_depth": self.depth, "leader": "a"}

    def app(self) -> web.Application:
        async def queue(request: web.Request) -> web.Response:
            return web.json_response(self.body())

        async def text(request: web.Request) -> web.Response:
            return web.Response(text="not json")

        async def ws(request: web.Request) -> web.WebSocketResponse:
            resp = web.WebSocketResponse()
            await resp.prepare(request)
            await resp.send_str(json.dumps(self.body()))
            await asyncio.sleep(0.5)
            await resp.close()
            return resp

        app = web.Application()
        app.router.add_get("/queue", queue)
        app.router.add_get("/text", text)
        app.router.add_get("/ws", ws)
        return app


def _http(url: str, *assertions: tuple[str, str, str]) -> str:
    text = f"    http:\n      url: {url}\n      health_field: status\n      assertions:\n"
    for name, expression, on_fail in assertions:
        text += f"        - {{name: {name}, cel: '{expression}', on_fail: {on_fail}}}\n"
    return text


async def test_a_false_degrade_assertion_degrades_and_keeps_the_probe_up(
    serve: ServeFn, probe: ProbeFn
) -> None:
    server = Queue()
    base = await serve(server.app())
    snippet = _http(f"{base}/queue", ("queue", "body.queue_depth < 100", "degrade"))
    result = await probe(snippet)
    assert result.success
    assert result.health is Health.HEALTHY
    assert result.assertions == {"queue": True}
    server.depth = 500
    result = await probe(snippet)
    assert result.success, result.message
    assert result.health is Health.DEGRADED
    assert result.assertions == {"queue": False}


async def test_a_false_fail_assertion_fails_the_probe_with_reason_assertion(
    serve: ServeFn, probe: ProbeFn
) -> None:
    server = Queue()
    base = await serve(server.app())
    snippet = _http(
        f"{base}/queue",
        ("leader", 'body.leader == "a"', "fail"),
        ("queue", "body.queue_depth < 100", "fail"),
    )
    assert (await probe(snippet)).success
    server.depth = 500
    result = await probe(snippet)
    assert not result.success
    assert result.reason is FailureReason.ASSERTION
    assert result.message == "assertion queue failed: false"
    assert result.assertions == {"leader": True, "queue": False}


async def test_an_assertion_that_cannot_be_evaluated_is_false(
    serve: ServeFn, probe: ProbeFn
) -> None:
    base = await serve(Queue().app())
    missing = await probe(_http(f"{base}/queue", ("gone", "body.nothing > 1", "fail")))
    assert missing.reason is FailureReason.ASSERTION
    assert "nothing" in missing.message
    assert missing.assertions == {"gone": False}
    text = await probe(
        f"    http:\n      url: {base}/text\n"
        "      assertions: [{name: j, cel: 'body.a == 1', on_fail: fail}]\n"
    )
    assert text.reason is FailureReason.ASSERTION
    assert text.message == "assertion j failed: body is not valid JSON"


async def test_websocket_first_message_assertions(serve: ServeFn, probe: ProbeFn) -> None:
    server = Queue()
    base = await serve(server.app())
    url = base.replace("http://", "ws://") + "/ws"
    snippet = (
        f"    websocket:\n      url: {url}\n      assertions:\n"
        "        - {name: queue, cel: 'body.queue_depth < 100', on_fail: degrade}\n"
        "        - {name: leader, cel: 'body.leader == \"a\"', on_fail: fail}\n"
    )
    result = await probe(snippet)
    assert result.success
    assert result.health is Health.HEALTHY
    server.depth = 500
    result = await probe(snippet)
    assert result.success
    assert result.health is Health.DEGRADED
    assert result.assertions == {"queue": False, "leader": True}
    failing = snippet.replace("on_fail: degrade", "on_fail: fail")
    result = await probe(failing)
    assert result.reason is FailureReason.ASSERTION


async def test_a_runaway_expression_is_cut_by_the_timeout_and_the_next_probe_works(
    serve: ServeFn, ctx: ProbeContext
) -> None:
    async def many(request: web.Request) -> web.Response:
        return web.json_response({"items": list(range(50_000)), "ok": True})

    app = web.Application()
    app.router.add_get("/many", many)
    base = await serve(app)
    slow = target_from(
        f"    http:\n      url: {base}/many\n      assertions:\n"
        "        - {name: q, cel: 'body.items.all(x, body.items.exists(y, y == x))'}\n",
        timeout="1s",
    )
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    try:
        result = await run_probe(slow, ctx)
    finally:
        ticker.cancel()
    assert result.reason is FailureReason.TIMEOUT
    assert ticks >= 10  # the event loop went on while the expression ran elsewhere
    quick = target_from(
        f"    http:\n      url: {base}/many\n      assertions:\n"
        "        - {name: ok, cel: 'body.ok && size(body.items) == 50000'}\n"
    )
    result = await run_probe(quick, ctx)
    assert result.success, result.message
    assert result.assertions == {"ok": True}


async def test_assertion_ok_is_exposed_per_assertion(serve: ServeFn, ctx: ProbeContext) -> None:
    server = Queue()
    base = await serve(server.app())
    target = target_from(
        _http(
            f"{base}/queue",
            ("queue", "body.queue_depth < 100", "degrade"),
            ("leader", 'body.leader == "b"', "degrade"),
        )
    )
    store = ResultStore()
    store.sync([target])
    store.record(target, await run_probe(target, ctx))
    registry = CollectorRegistry()
    registry.register(TargetCollector(store.states()))

    def ok(name: str) -> float | None:
        return registry.get_sample_value(
            "ghost_probe_assertion_ok", {"service": "t", "assertion": name}
        )

    assert ok("queue") == 1.0
    assert ok("leader") == 0.0
    assert registry.get_sample_value("ghost_service_up", {"service": "t"}) == 1.0
    assert (
        registry.get_sample_value("ghost_service_health", {"service": "t", "state": "degraded"})
        == 1.0
    )
    assert "ghost_probe_assertion_ok{" in store.text()


def test_validate_refuses_a_bad_expression_with_file_line_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "services:\n"
        "  - name: a\n"
        "    http:\n"
        "      url: http://127.0.0.1:1/\n"
        "      assertions:\n"
        "        - name: queue\n"
        "          cel: 'body.queue_depth <'\n"
        "        - name: other\n"
        "          cel: 'queue.depth < 1'\n"
    )
    refused = subprocess.run(
        [cli("ghost-exporter"), "validate", f"--config.file={bad}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2
    assert (
        f"{bad}:7: services[0].http.assertions[0].cel: Syntax error: mismatched input '<EOF>' "
        "at column 19 of the expression"
    ) in refused.stderr
    assert (
        f"{bad}:9: services[0].http.assertions[1].cel: unknown variable 'queue': "
        "an expression sees only `body`"
    ) in refused.stderr
    assert "Traceback" not in refused.stderr


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def test_exporter_process_exposes_assertions_and_stops_its_workers(tmp_path: Path) -> None:
    with ThreadedServer(health_app()) as server:
        config = tmp_path / "ghost.yml"
        config.write_text(
            "defaults: {interval: 300ms, timeout: 250ms}\n"
            "services:\n"
            "  - name: checked\n"
            f"    http:\n      url: '{server.url}/health?state=healthy'\n"
            "      assertions:\n"
            "        - {name: healthy, cel: 'body.status == \"healthy\"', on_fail: degrade}\n"
            "        - {name: strict, cel: 'body.status == \"perfect\"', on_fail: fail}\n"
        )
        with run_exporter(config, tmp_path) as exporter:
            failed = 'ghost_probe_failures_total{reason="assertion",service="checked"}'

            def scraped() -> str:
                return exporter.get("/metrics")[1]

            wait_until(lambda: 'assertion="strict"' in scraped())
            text = scraped()
            assert 'ghost_probe_assertion_ok{service="checked",assertion="healthy"} 1.0' in text
            assert 'ghost_probe_assertion_ok{service="checked",assertion="strict"} 0.0' in text
            assert 'ghost_service_up{service="checked"} 0.0' in text
            assert_promtool_accepts(text)
            wait_until(lambda: len(_children(exporter.proc.pid)) == 2)  # the CEL workers
            workers = _children(exporter.proc.pid)
            assert failed not in text  # labels are rendered service first
        for pid in workers:
            assert not Path(f"/proc/{pid}").exists() or "Z" in _state(pid)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


async def test_a_dead_worker_fails_the_assertion_and_is_replaced(
    serve: ServeFn, ctx: ProbeContext
) -> None:
    base = await serve(Queue().app())
    target = target_from(_http(f"{base}/queue", ("queue", "body.queue_depth < 100", "fail")))
    evaluator = ctx.resource("cel", Evaluator)
    await evaluator.warm()
    pids = evaluator.pids()
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    results = [await run_probe(target, ctx) for _ in range(3)]
    # A worker seen dead is skipped; one whose death the loop has not seen yet fails the
    # assertion it was asked (never another reason) and is replaced.
    for result in results:
        if not result.success:
            assert result.reason is FailureReason.ASSERTION
            assert "no CEL worker" in result.message
    assert results[-1].success, results[-1].message
    assert results[-1].assertions == {"queue": True}
    assert not set(pids) & set(evaluator.pids())
