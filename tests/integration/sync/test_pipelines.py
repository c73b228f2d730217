"""Pipelines against a real loopback fake ghost: delivered, late, lost, emit failures,
observers that drop, old canaries, shared observers."""

from __future__ import annotations

import asyncio

from ghost_exporter.config import Config, Target, parse_config
from ghost_exporter.kinds.pipeline import Pipeline, watcher_pool
from ghost_exporter.probes import FailureReason, ProbeContext, ProbeResult
from ghost_exporter.probes.observers import CANARY_PATTERN, WatcherPool
from ghost_exporter.probes.timeout import run_probe
from ghost_exporter.store import ResultStore
from tests.integration.sync.fakeghost import FakeGhost
from tests.integration.sync.scrape import sample_value
from tests.support import free_port

DEADLINE = 0.5  # late is 0.5-1.0 s after emit; the fake's delays keep 0.25 s from each edge


def _pipeline(name: str, base: str, emit_url: str | None = None, rest: bool = True) -> str:
    lines = [
        f"  - name: {name}",
        "    interval: 5s",
        "    timeout: 2s",
        f"    deadline: {int(DEADLINE * 1000)}ms",
        "    emit:",
        f"      http: {{url: '{emit_url or base + '/api/canary'}', "
        """body: '{"id": "{{canary}}"}'}""",
        "    observe:",
        f"      - {{name: feed, websocket: {{url: '{base.replace('http', 'ws')}/ws'}}}}",
    ]
    if rest:
        lines.append(f"      - {{name: rest, http: {{url: '{base}/api/patches', poll: 50ms}}}}")
    return "\n".join(lines)


def _config(*pipelines: str) -> Config:
    return parse_config("pipelines:\n" + "\n".join(pipelines) + "\n")


class Rounds:
    def __init__(self, config: Config, ctx: ProbeContext) -> None:
        self.config = config
        self.ctx = ctx
        self.store = ResultStore()
        self.store.sync(config.targets)

    async def run(self, name: str = "p") -> ProbeResult:
        target: Target = self.config.by_name[name]
        result = await run_probe(target, self.ctx)
        self.store.record(target, result)
        return result

    def value(self, metric: str, **labels: str) -> float | None:
        return sample_value(self.store.text(), metric, **labels)

    def canaries(self, observer: str, outcome: str, pipeline: str = "p") -> float | None:
        return self.value(
            "ghost_pipeline_canaries_total", pipeline=pipeline, observer=observer, outcome=outcome
        )


async def test_canary_delivered_to_every_observer(
    ghost: tuple[FakeGhost, str], ctx: ProbeContext
) -> None:
    fake, base = ghost
    r = Rounds(_config(_pipeline("p", base)), ctx)
    result = await r.run()
    assert result.success, result.message
    assert result.canary is not None
    assert CANARY_PATTERN.fullmatch(result.canary.canary)
    assert fake.canaries == [result.canary.canary]
    assert set(result.canary.seen) == {"feed", "rest"}
    assert all(s is not None and s <= DEADLINE for s in result.canary.seen.values())
    assert r.value("ghost_pipeline_up", pipeline="p") == 1.0
    for observer in ("feed", "rest"):
        assert r.canaries(observer, "delivered") == 1.0
        assert r.canaries(observer, "late") == 0.0
        assert r.value("ghost_pipeline_delivery_seconds_count", observer=observer) == 1.0
        assert r.value("ghost_pipeline_delivery_seconds_bucket", observer=observer, le="1.0") == 1.0
    second = await r.run()
    assert second.canary is not None
    assert second.canary.canary != result.canary.canary
    assert r.canaries("feed", "delivered") == 2.0
    assert fake.connects == 1  # the observer's connection stayed open between rounds


async def test_canary_late_and_lost(ghost: tuple[FakeGhost, str], ctx: ProbeContext) -> None:
    fake, base = ghost
    r = Rounds(_config(_pipeline("p", base)), ctx)
    fake.delay = 0.75
    result = await r.run()
    assert not result.success
    assert result.reason == FailureReason.HEALTH
    assert "feed late" in result.message
    assert r.canaries("feed", "late") == 1.0
    assert r.canaries("rest", "late") == 1.0
    assert r.canaries("feed", "delivered") == 0.0
    assert r.value("ghost_pipeline_up", pipeline="p") == 0.0
    assert r.value("ghost_pipeline_delivery_seconds_bucket", observer="feed", le="0.5") == 0.0
    assert r.value("ghost_pipeline_delivery_seconds_bucket", observer="feed", le="1.0") == 1.0
    fake.drop = True
    result = await r.run()
    assert "feed lost" in result.message
    assert "rest lost" in result.message
    assert r.canaries("feed", "lost") == 1.0
    assert r.canaries("rest", "lost") == 1.0
    assert r.value("ghost_pipeline_delivery_seconds_count", observer="feed") == 1.0  # lost: none
    assert r.value("ghost_pipeline_emit_failures_total", reason="status") == 0.0


async def test_emit_failures_by_reason(ghost: tuple[FakeGhost, str], ctx: ProbeContext) -> None:
    fake, base = ghost
    closed = f"http://127.0.0.1:{free_port()}/api/canary"
    r = Rounds(_config(_pipeline("p", base), _pipeline("refused", base, emit_url=closed)), ctx)
    fake.emit_status = 500
    result = await r.run()
    assert result.reason == FailureReason.STATUS
    assert result.message == "emit: status 500"
    assert r.value("ghost_pipeline_emit_failures_total", pipeline="p", reason="status") == 1.0
    assert r.canaries("feed", "lost") == 0.0  # nothing was emitted, nothing is counted lost
    assert r.value("ghost_pipeline_up", pipeline="p") == 0.0
    result = await r.run("refused")
    assert result.reason == FailureReason.CONNECT
    assert (
        r.value("ghost_pipeline_emit_failures_total", pipeline="refused", reason="connect") == 1.0
    )


async def test_observer_that_disconnects_mid_round(
    ghost: tuple[FakeGhost, str], ctx: ProbeContext
) -> None:
    fake, base = ghost
    r = Rounds(_config(_pipeline("p", base, rest=False)), ctx)
    assert (await r.run()).success
    tasks_before = len(asyncio.all_tasks())
    fake.delay = 0.3
    fake.received.clear()
    round_task = asyncio.create_task(r.run())
    await asyncio.wait_for(fake.received.wait(), 5)
    await fake.close_feeds()  # the feed goes away before the canary is published
    result = await round_task
    assert "feed lost" in result.message
    assert r.canaries("feed", "lost") == 1.0
    fake.delay = 0.0
    result = await r.run()  # reconnects before emitting
    assert result.success, result.message
    assert fake.connects == 2
    assert r.canaries("feed", "delivered") == 2.0
    assert watcher_pool(ctx).open_connections == 1
    assert len(asyncio.all_tasks()) <= tasks_before


async def test_observer_that_cannot_connect_is_lost_and_the_round_goes_on(
    ghost: tuple[FakeGhost, str], ctx: ProbeContext
) -> None:
    fake, base = ghost
    text = _pipeline("p", base).replace(
        f"{base.replace('http', 'ws')}/ws", f"ws://127.0.0.1:{free_port()}/ws"
    )
    r = Rounds(_config(text), ctx)
    result = await r.run()
    assert "feed lost (not connected: connect:" in result.message
    assert r.canaries("feed", "lost") == 1.0
    assert r.canaries("rest", "delivered") == 1.0
    assert len(fake.canaries) == 1


async def test_old_canary_is_never_counted_for_a_newer_round_or_twice(
    ghost: tuple[FakeGhost, str], ctx: ProbeContext
) -> None:
    fake, base = ghost
    r = Rounds(_config(_pipeline("p", base, rest=False)), ctx)
    fake.delay = 0.75
    fake.repeat = 3  # the feed repeats the canary: still one late sighting
    await r.run()
    assert r.canaries("feed", "late") == 1.0
    fake.repeat = 1
    fake.delay = 2 * DEADLINE + 0.3  # arrives after its round gave up, during the next one
    first = await r.run()
    assert "feed lost" in first.message
    fake.delay = 0.0
    second = await r.run()
    assert second.success
    assert (r.canaries("feed", "delivered"), r.canaries("feed", "late")) == (1.0, 1.0)
    assert r.canaries("feed", "lost") == 1.0
    assert r.value("ghost_pipeline_delivery_seconds_count", observer="feed") == 2.0
    await asyncio.sleep(0.4)  # the old canary has arrived by now; nothing waits for it
    assert [e["id"] for e in fake.events].count(first.canary.canary if first.canary else "") == 1


async def test_two_pipelines_share_one_observer_connection(
    ghost: tuple[FakeGhost, str], ctx: ProbeContext
) -> None:
    fake, base = ghost
    r = Rounds(_config(_pipeline("p", base), _pipeline("q", base)), ctx)
    p, q = await asyncio.gather(r.run("p"), r.run("q"))
    assert p.success, p.message
    assert q.success, q.message
    assert fake.connects == 1
    assert r.canaries("feed", "delivered", pipeline="p") == 1.0
    assert r.canaries("feed", "delivered", pipeline="q") == 1.0
    assert r.canaries("feed", "lost", pipeline="q") == 0.0


async def test_an_observer_connection_nobody_uses_is_closed(
    ghost: tuple[FakeGhost, str], ctx: ProbeContext
) -> None:
    fake, base = ghost
    pipeline = _config(_pipeline("p", base, rest=False)).by_name["p"].spec
    assert isinstance(pipeline, Pipeline)
    spec = pipeline.observe[0].websocket
    assert spec is not None
    pool = WatcherPool(ctx.websocket)
    try:
        watcher = pool.get(spec, idle=1.0)
        assert await watcher.ensure(2.0) is None
        assert pool.get(spec, idle=1.0) is watcher
        assert pool.open_connections == 1
        await asyncio.sleep(0.6)
        pool.get(spec, idle=1.0)  # used again: the idle time starts over
        await asyncio.sleep(0.6)
        assert pool.open_connections == 1
        await asyncio.sleep(1.0)
        assert pool.open_connections == 0
        for _ in range(50):  # the server sees the close shortly after
            if not fake.feeds:
                break
            await asyncio.sleep(0.02)
        assert not fake.feeds
    finally:
        await pool.aclose()
