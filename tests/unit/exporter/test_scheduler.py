"""Scheduler properties that make scale work: spread, no self-overlap, no head-of-line blocking."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ghost_exporter.config import Target, parse_config
from ghost_exporter.probes import FailureReason, Health, ProbeResult
from ghost_exporter.scheduler import Scheduler, next_due, offset_of


def _targets(names: list[str], interval: str = "100ms", timeout: str = "50ms") -> list[Target]:
    lines = ["services:"]
    for name in names:
        lines += [
            f"  - name: {name}",
            f"    interval: {interval}",
            f"    timeout: {timeout}",
            "    tcp: {address: '127.0.0.1:1'}",
        ]
    return list(parse_config("\n".join(lines) + "\n").targets)


def test_offsets_spread_evenly_across_the_interval() -> None:
    interval = 15.0
    bins = collections.Counter(int(offset_of(f"target-{i}", interval)) for i in range(10_000))
    assert set(bins) == set(range(15))
    expected = 10_000 / 15
    assert max(bins.values()) < expected * 1.15
    assert min(bins.values()) > expected * 0.85


def test_offsets_are_stable() -> None:
    assert offset_of("dual-monitor", 15.0) == offset_of("dual-monitor", 15.0)
    assert 0 <= offset_of("dual-monitor", 15.0) < 15.0


@given(
    st.floats(min_value=0, max_value=1e6),
    st.floats(min_value=0, max_value=0.999),
    st.floats(min_value=0.01, max_value=3600),
)
def test_next_due_is_the_next_grid_point(now: float, fraction: float, interval: float) -> None:
    offset = fraction * interval
    due = next_due(now, offset, interval)
    assert due >= now - 1e-6
    assert due - interval < now + 1e-6
    k = (due - offset) / interval
    assert abs(k - round(k)) < 1e-6


class Recorder:
    def __init__(self, durations: dict[str, float]) -> None:
        self.durations = durations
        self.running: collections.Counter[str] = collections.Counter()
        self.max_running: collections.Counter[str] = collections.Counter()
        self.started: collections.Counter[str] = collections.Counter()
        self.results: collections.Counter[str] = collections.Counter()
        self.lags: list[float] = []
        #: Targets whose probes fail.
        self.down: set[str] = set()

    async def probe(self, target: Target) -> ProbeResult:
        self.running[target.name] += 1
        self.started[target.name] += 1
        self.max_running[target.name] = max(
            self.max_running[target.name], self.running[target.name]
        )
        try:
            await asyncio.sleep(self.durations.get(target.name, 0.001))
        finally:
            self.running[target.name] -= 1
        result = ProbeResult()
        if target.name in self.down:
            return result.fail(FailureReason.CONNECT, "down")
        result.health = Health.HEALTHY
        return result.succeed()

    def on_result(self, target: Target, result: ProbeResult) -> None:
        self.results[target.name] += 1


MakeScheduler = Callable[..., Scheduler]


@pytest.fixture
async def make_scheduler() -> AsyncIterator[MakeScheduler]:
    tasks: list[asyncio.Task[None]] = []

    def _make(recorder: Recorder, max_concurrency: int = 100) -> Scheduler:
        scheduler = Scheduler(
            recorder.probe, recorder.on_result, recorder.lags.append, max_concurrency
        )
        tasks.append(asyncio.create_task(scheduler.run()))
        return scheduler

    yield _make
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_target_never_overlaps_itself(make_scheduler: MakeScheduler) -> None:
    recorder = Recorder({"slow": 0.25})
    scheduler: Scheduler = make_scheduler(recorder)
    scheduler.set_targets(_targets(["slow"], interval="50ms", timeout="40ms"))
    await asyncio.sleep(1.0)
    assert recorder.started["slow"] >= 2
    assert recorder.max_running["slow"] == 1
    assert scheduler.skipped >= 2


async def test_a_slow_target_does_not_delay_the_others(make_scheduler: MakeScheduler) -> None:
    names = ["slow", *(f"fast-{i}" for i in range(5))]
    recorder = Recorder({"slow": 5.0})
    scheduler: Scheduler = make_scheduler(recorder)
    scheduler.set_targets(_targets(names, interval="50ms", timeout="40ms"))
    await asyncio.sleep(0.8)
    assert recorder.results["slow"] == 0
    for i in range(5):
        # 16 rounds fit in 0.8 s; even a loaded machine runs well over a third of them.
        assert recorder.results[f"fast-{i}"] >= 5


async def test_reload_adds_and_removes_targets(make_scheduler: MakeScheduler) -> None:
    recorder = Recorder({})
    scheduler: Scheduler = make_scheduler(recorder)
    scheduler.set_targets(_targets(["a", "b"], interval="50ms", timeout="40ms"))
    await asyncio.sleep(0.3)
    assert recorder.results["a"] > 0
    assert recorder.results["b"] > 0
    scheduler.set_targets(_targets(["b", "c"], interval="50ms", timeout="40ms"))
    await asyncio.sleep(0.05)
    removed_count = recorder.results["a"]
    await asyncio.sleep(0.3)
    assert recorder.results["a"] == removed_count
    assert recorder.results["c"] > 0


async def test_lag_is_reported_for_every_probe(make_scheduler: MakeScheduler) -> None:
    recorder = Recorder({})
    scheduler: Scheduler = make_scheduler(recorder)
    scheduler.set_targets(_targets([f"t{i}" for i in range(20)], interval="100ms"))
    await asyncio.sleep(0.5)
    assert len(recorder.lags) == sum(recorder.started.values()) > 0
    assert all(lag >= 0 for lag in recorder.lags)


async def test_concurrency_is_bounded(make_scheduler: MakeScheduler) -> None:
    names = [f"t{i}" for i in range(30)]
    recorder = Recorder(dict.fromkeys(names, 0.2))
    scheduler: Scheduler = make_scheduler(recorder, max_concurrency=4)
    scheduler.set_targets(_targets(names, interval="300ms", timeout="250ms"))
    peak = 0
    for _ in range(20):
        await asyncio.sleep(0.02)
        peak = max(peak, sum(recorder.running.values()))
    assert 0 < peak <= 4


def _on_grid(time: float, offset: float, interval: float) -> bool:
    k = (time - offset) / interval
    return abs(k - round(k)) < 1e-6


async def test_a_failing_target_is_probed_at_interval_when_failing(
    make_scheduler: MakeScheduler,
) -> None:
    text = (
        "services:\n  - name: flaky\n    interval: 1s\n    timeout: 50ms\n"
        "    interval_when_failing: 100ms\n    tcp: {address: '127.0.0.1:1'}\n"
    )
    (target,) = parse_config(text).targets
    recorder = Recorder({})
    recorder.down.add("flaky")
    scheduler: Scheduler = make_scheduler(recorder)
    scheduler.set_targets([target])
    loop = asyncio.get_running_loop()
    offset = offset_of("flaky", 1.0)
    assert scheduler.period(target) == 1.0
    for _ in range(300):  # the first probe comes within one interval
        await asyncio.sleep(0.01)
        if recorder.results["flaky"]:
            break
    assert "flaky" in scheduler.failing
    assert scheduler.period(target) == 0.1
    due = scheduler.due("flaky")
    assert due is not None
    assert 0 < due - loop.time() <= 0.1 + 1e-6
    assert _on_grid(due, offset, 0.1)
    before = recorder.results["flaky"]
    await asyncio.sleep(1.0)
    # Ten rounds of 100 ms fit in a second; at the 1 s interval at most two would.
    assert recorder.results["flaky"] - before >= 4
    recorder.down.clear()
    for _ in range(300):
        await asyncio.sleep(0.01)
        if "flaky" not in scheduler.failing:
            break
    assert "flaky" not in scheduler.failing
    assert scheduler.period(target) == 1.0
    due = scheduler.due("flaky")
    assert due is not None
    assert _on_grid(due, offset, 1.0)
    before = recorder.results["flaky"]
    await asyncio.sleep(0.9)
    assert recorder.results["flaky"] - before <= 1
    assert len(recorder.lags) == sum(recorder.started.values())


async def test_without_interval_when_failing_a_failing_target_keeps_its_interval(
    make_scheduler: MakeScheduler,
) -> None:
    (target,) = _targets(["down"], interval="1s", timeout="50ms")
    recorder = Recorder({})
    recorder.down.add("down")
    scheduler: Scheduler = make_scheduler(recorder)
    scheduler.set_targets([target])
    for _ in range(300):
        await asyncio.sleep(0.01)
        if recorder.results["down"]:
            break
    assert "down" in scheduler.failing
    assert scheduler.period(target) == 1.0
    due = scheduler.due("down")
    assert due is not None
    assert _on_grid(due, offset_of("down", 1.0), 1.0)


async def test_a_failing_target_changed_by_a_reload_stays_on_its_failing_interval(
    make_scheduler: MakeScheduler,
) -> None:
    def config(tier: str) -> Target:
        (target,) = parse_config(
            "services:\n  - name: sick\n    interval: 1s\n    timeout: 50ms\n"
            f"    interval_when_failing: 100ms\n    labels: {{tier: {tier}}}\n"
            "    tcp: {address: '127.0.0.1:1'}\n"
        ).targets
        return target

    recorder = Recorder({})
    recorder.down.add("sick")
    scheduler: Scheduler = make_scheduler(recorder)
    scheduler.set_targets([config("a")])
    for _ in range(300):
        await asyncio.sleep(0.01)
        if "sick" in scheduler.failing:
            break
    assert "sick" in scheduler.failing
    scheduler.set_targets([config("b")])
    due = scheduler.due("sick")
    assert due is not None
    assert 0 <= due - asyncio.get_running_loop().time() <= 0.1 + 1e-6
