"""Accounting under concurrency: the figures always add up and a seed fixes every outcome."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from ghost_stress.accounting import Accounting
from ghost_stress.events import Event, PatchEvent
from ghost_stress.executor import Executor
from ghost_stress.patches import SimulatedPatches


@dataclass
class Observed:
    outcomes: dict[int, str]
    reads: int
    events: list[PatchEvent]


def _check_status(accounting: Accounting, concurrency: int) -> None:
    patches = accounting.status()["patches"]
    finished = patches["completed"] + patches["failed"] + patches["timeout"]
    assert patches["started"] == finished + patches["in_flight"]
    assert 0 <= patches["in_flight"] <= concurrency


async def _run(
    total: int,
    concurrency: int,
    failure_rate: float,
    seed: int,
    duration: tuple[float, float],
    timeout: float = 30.0,
) -> Observed:
    accounting = Accounting("stress", event_buffer=1000)
    workload = SimulatedPatches(duration, failure_rate=failure_rate, timeout=timeout, seed=seed)
    executor = Executor(accounting, workload)
    events: list[PatchEvent] = []
    reads = 0

    def on_event(event: Event) -> None:
        nonlocal reads
        assert event["type"] != "canary"
        events.append(event)
        _check_status(accounting, concurrency)
        reads += 1

    async def poll() -> None:
        nonlocal reads
        while True:
            _check_status(accounting, concurrency)
            reads += 1
            await asyncio.sleep(0)

    accounting.subscribe(on_event)
    poller = asyncio.create_task(poll())
    try:
        await executor.run_batch(total, concurrency)
    finally:
        poller.cancel()
    _check_status(accounting, concurrency)

    status = accounting.status()
    patches = status["patches"]
    assert patches["started"] == total
    assert patches["in_flight"] == 0
    assert patches["completed"] + patches["failed"] + patches["timeout"] == total
    histogram = status["duration_seconds"]
    assert histogram["count"] == total
    assert histogram["buckets"]["+Inf"] == total
    counts = list(histogram["buckets"].values())
    assert counts == sorted(counts)
    assert len(events) == 2 * total
    assert [event["seq"] for event in events] == list(range(1, 2 * total + 1))
    outcomes: dict[int, str] = {
        int(event["patch_id"].rsplit("-", 1)[1]): event["type"]
        for event in events
        if event["type"] != "started"
    }
    assert sorted(outcomes) == list(range(1, total + 1))
    if failure_rate == 0.0:
        assert patches["failed"] == 0
    if failure_rate == 1.0:
        assert patches["completed"] == 0
    return Observed(outcomes, reads, events)


@settings(max_examples=40, deadline=None)
@given(
    total=st.integers(0, 60),
    concurrency=st.integers(1, 8),
    failure_rate=st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0)),
    seed=st.integers(0, 2**32),
    short=st.booleans(),
)
def test_accounting_adds_up_at_every_read(
    total: int, concurrency: int, failure_rate: float, seed: int, short: bool
) -> None:
    duration = (0.0, 0.002) if short else (0.0, 0.0)
    observed = asyncio.run(_run(total, concurrency, failure_rate, seed, duration))
    assert observed.reads >= 2 * total


@settings(max_examples=15, deadline=None)
@given(
    total=st.integers(1, 40),
    concurrency=st.tuples(st.integers(1, 8), st.integers(1, 8)),
    failure_rate=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32),
)
def test_same_seed_same_outcomes(
    total: int, concurrency: tuple[int, int], failure_rate: float, seed: int
) -> None:
    first = asyncio.run(_run(total, concurrency[0], failure_rate, seed, (0.0, 0.002)))
    again = asyncio.run(_run(total, concurrency[0], failure_rate, seed, (0.0, 0.002)))
    other_concurrency = asyncio.run(_run(total, concurrency[1], failure_rate, seed, (0.0, 0.002)))
    assert first.outcomes == again.outcomes == other_concurrency.outcomes


def test_simulated_patches_past_the_timeout_time_out() -> None:
    observed = asyncio.run(_run(6, 3, 0.0, 1, (0.05, 0.05), timeout=0.01))
    assert set(observed.outcomes.values()) == {"timeout"}
    durations = [e["duration_seconds"] for e in observed.events if e["type"] == "timeout"]
    assert all(0.005 <= duration < 0.05 for duration in durations)


def test_events_carry_the_protocol_fields() -> None:
    observed = asyncio.run(_run(2, 1, 1.0, 7, (0.0, 0.0)))
    started, failed = observed.events[0], observed.events[1]
    assert set(started) == {"seq", "ts", "type", "patch_id", "daemon"}
    assert set(failed) == {
        "seq", "ts", "type", "patch_id", "daemon", "duration_seconds", "exit_code",
    }  # fmt: skip
    assert failed["type"] == "failed"
    assert failed["exit_code"] is None
    assert failed["patch_id"] == started["patch_id"]
    assert started["daemon"] == "stress"


async def test_rate_mode_skips_when_full_and_cancels_after_grace() -> None:
    accounting = Accounting("stress")
    executor = Executor(accounting, SimulatedPatches((5.0, 5.0)))
    run = asyncio.create_task(executor.run_rate(200.0, 2))
    await asyncio.sleep(0.2)
    counts = accounting.counts()
    assert counts.started == 2
    assert counts.in_flight == 2
    assert executor.skipped > 10
    executor.stop(grace=0.05)
    await asyncio.wait_for(run, 2.0)
    counts = accounting.counts()
    assert (counts.started, counts.failed, counts.in_flight) == (2, 2, 0)


async def test_rate_mode_lets_in_flight_patches_finish_within_grace() -> None:
    accounting = Accounting("stress")
    executor = Executor(accounting, SimulatedPatches((0.1, 0.1)))
    run = asyncio.create_task(executor.run_rate(50.0, 100))
    await asyncio.sleep(0.3)
    executor.stop(grace=5.0)
    await asyncio.wait_for(run, 2.0)
    counts = accounting.counts()
    assert counts.in_flight == 0
    assert counts.completed == counts.started > 5
    assert executor.skipped == 0


async def test_batch_stop_starts_no_more_patches() -> None:
    accounting = Accounting("stress")
    executor = Executor(accounting, SimulatedPatches((0.05, 0.05)))
    run = asyncio.create_task(executor.run_batch(1000, 4))
    await asyncio.sleep(0.12)
    executor.stop(grace=5.0)
    await asyncio.wait_for(run, 2.0)
    counts = accounting.counts()
    assert 4 <= counts.started < 1000
    assert counts.completed == counts.started
