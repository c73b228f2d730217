"""Runs every target on its own interval, at a stable offset, never overlapping itself."""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable, Callable, Iterable

from ghost_exporter.config import Target
from ghost_exporter.results import Health, ProbeResult

log = logging.getLogger(__name__)

ProbeFn = Callable[[Target], Awaitable[ProbeResult]]
ResultFn = Callable[[Target, ProbeResult], object]
LagFn = Callable[[float], object]


#: Probe start times are placed on a grid of this step (or a tenth of the interval, if smaller),
#: so that the probes of a step start in one event-loop wake-up instead of one wake-up each.
TICK = 0.1


def offset_of(name: str, interval: float) -> float:
    """A stable offset in [0, interval) from the target's name, spreading targets evenly over the
    interval in steps of ``TICK``."""
    tick = min(TICK, interval / 10)
    raw = (zlib.crc32(name.encode()) / 2**32) * interval
    return (raw // tick) * tick


def next_due(now: float, offset: float, interval: float) -> float:
    """The first time >= now that lies on the target's grid ``offset + k * interval``."""
    k = -((offset - now) // interval)  # ceil((now - offset) / interval)
    return offset + k * interval


class Scheduler:
    """One event-loop timer per target; each probe runs in its own task.

    A probe that is still running when its target comes due again is skipped for that round, so
    a target never overlaps itself and a slow target never delays the others. Concurrency is
    bounded by a semaphore; the lag (start time minus due time) is reported to ``on_lag``.
    Timers run while ``run()`` is awaited; leaving it cancels them and the probes in flight.

    A target with ``interval_when_failing`` is probed on the grid ``offset + k *
    interval_when_failing`` from the end of a failed (or not healthy) probe, and back on
    ``offset + k * interval`` from the end of its first good one; its offset stays the one its
    name gives.
    """

    def __init__(
        self,
        probe: ProbeFn,
        on_result: ResultFn,
        on_lag: LagFn,
        max_concurrency: int = 1024,
        on_in_flight: Callable[[int], object] | None = None,
    ) -> None:
        self._probe = probe
        self._on_result = on_result
        self._on_lag = on_lag
        self._on_in_flight = on_in_flight
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._targets: dict[str, Target] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        #: Targets whose last probe failed or found them not healthy.
        self.failing: set[str] = set()
        self.skipped = 0

    def set_targets(self, targets: Iterable[Target]) -> None:
        """Replace the target set; unchanged targets keep their place in the schedule."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        new = {t.name: t for t in targets}
        for name, old in self._targets.items():
            if new.get(name) != old:
                self._timers.pop(name).cancel()
                task = self._running.get(name)
                if task is not None:
                    task.cancel()
        for name, target in new.items():
            if self._targets.get(name) != target:
                due = next_due(now, offset_of(name, target.interval), self.period(target))
                self._timers[name] = loop.call_at(due, self._fire, name, due)
        self._targets = new
        self.failing &= new.keys()

    def period(self, target: Target) -> float:
        """The interval the target is probed at now."""
        if target.interval_when_failing is not None and target.name in self.failing:
            return target.interval_when_failing
        return target.interval

    def _fire(self, name: str, due: float) -> None:
        target = self._targets[name]
        loop = asyncio.get_running_loop()
        period = self.period(target)
        following = due + period
        now = loop.time()
        if following <= now:  # fell behind by a whole interval: rejoin the grid
            following = next_due(now, offset_of(name, target.interval), period)
        self._timers[name] = loop.call_at(following, self._fire, name, following)
        if name in self._running:
            self.skipped += 1
            return
        self._running[name] = loop.create_task(self._run_one(target, due))
        self._report_in_flight()

    async def run(self) -> None:
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()
            self._targets = {}
            tasks = list(self._running.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _run_one(self, target: Target, due: float) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with self._semaphore:
                self._on_lag(max(0.0, loop.time() - due))
                result = await self._probe(target)
            self._on_result(target, result)  # the store drops results of removed targets
            self._follow(target, result)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("probe task for %s failed", target.name)
        finally:
            if self._running.get(target.name) is asyncio.current_task():
                del self._running[target.name]
            self._report_in_flight()

    def _follow(self, target: Target, result: ProbeResult) -> None:
        """Move a target between its two intervals when its probe turned bad or good."""
        name = target.name
        failing = not result.success or (target.is_service and result.health != Health.HEALTHY)
        if failing == (name in self.failing):
            return
        if failing:
            self.failing.add(name)
        else:
            self.failing.discard(name)
        if target.interval_when_failing is None or self._targets.get(name) is not target:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        period = self.period(target)
        due = next_due(now, offset_of(name, target.interval), period)
        if due <= now:
            due += period
        self._timers.pop(name).cancel()
        self._timers[name] = loop.call_at(due, self._fire, name, due)

    def due(self, name: str) -> float | None:
        """When the target is next due (the event loop's clock), None when not scheduled."""
        timer = self._timers.get(name)
        return timer.when() if timer is not None else None

    def _report_in_flight(self) -> None:
        if self._on_in_flight is not None:
            self._on_in_flight(len(self._running))
