"""Runs every target on its own interval, at a stable offset, never overlapping itself."""

from __future__ import annotations

import asyncio
import heapq
import logging
import zlib
from collections.abc import Awaitable, Callable, Iterable

from ghost_exporter.config import Target
from ghost_exporter.probes import ProbeResult

log = logging.getLogger(__name__)

ProbeFn = Callable[[Target], Awaitable[ProbeResult]]
ResultFn = Callable[[Target, ProbeResult], object]
LagFn = Callable[[float], object]


def offset_of(name: str, interval: float) -> float:
    """A stable offset in [0, interval) from the target's name, spreading targets evenly."""
    return (zlib.crc32(name.encode()) / 2**32) * interval


def next_due(now: float, offset: float, interval: float) -> float:
    """The first time >= now that lies on the target's grid ``offset + k * interval``."""
    k = -((offset - now) // interval)  # ceil((now - offset) / interval)
    return offset + k * interval


class Scheduler:
    """One loop over a heap of due times; each probe runs in its own task.

    A probe that is still running when its target comes due again is skipped for that round, so
    a target never overlaps itself and a slow target never delays the others. Concurrency is
    bounded by a semaphore; the lag (start time minus due time) is reported to ``on_lag``.
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
        self._heap: list[tuple[float, int, str]] = []
        self._seq = 0
        self._running: dict[str, asyncio.Task[None]] = {}
        self._wakeup = asyncio.Event()
        self.skipped = 0

    def set_targets(self, targets: Iterable[Target]) -> None:
        """Replace the target set; unchanged targets keep their place in the schedule."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        new = {t.name: t for t in targets}
        for name, task in list(self._running.items()):
            old = self._targets.get(name)
            if new.get(name) != old:
                task.cancel()
        changed = {n for n, t in new.items() if self._targets.get(n) != t}
        self._targets = new
        self._heap = [entry for entry in self._heap if entry[2] in new and entry[2] not in changed]
        for name in changed:
            target = new[name]
            self._push(next_due(now, offset_of(name, target.interval), target.interval), name)
        heapq.heapify(self._heap)
        self._wakeup.set()

    def _push(self, due: float, name: str) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, name))

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                self._wakeup.clear()
                if not self._heap:
                    await self._wakeup.wait()
                    continue
                due, _, name = self._heap[0]
                delay = due - loop.time()
                if delay > 0:
                    try:
                        async with asyncio.timeout(delay):
                            await self._wakeup.wait()
                    except TimeoutError:
                        pass
                    continue
                heapq.heappop(self._heap)
                target = self._targets.get(name)
                if target is None:
                    continue
                now = loop.time()
                following = due + target.interval
                if following <= now:  # fell behind by a whole interval: rejoin the grid
                    following = next_due(now, offset_of(name, target.interval), target.interval)
                self._push(following, name)
                if name in self._running:
                    self.skipped += 1
                    continue
                task = asyncio.create_task(self._run_one(target, due))
                self._running[name] = task
                self._report_in_flight()
        finally:
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
            if self._targets.get(target.name) is target:
                self._on_result(target, result)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("probe task for %s failed", target.name)
        finally:
            if self._running.get(target.name) is asyncio.current_task():
                del self._running[target.name]
            self._report_in_flight()

    def _report_in_flight(self) -> None:
        if self._on_in_flight is not None:
            self._on_in_flight(len(self._running))
