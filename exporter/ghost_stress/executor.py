"""The executor: runs patches of one workload, a fixed number or at a steady rate, into accounting.

``run_batch`` uses one worker per concurrency slot, each running patches back to back, so a
patch costs no task of its own. ``run_rate`` starts a task per patch on a fixed schedule: patch
``k`` is due at ``start + k / rate``; a due patch that finds every slot taken is skipped and
counted, so the daemon never queues work and never bursts above the rate to catch up.

``stop(grace)`` stops starting patches and cancels what is still running ``grace`` seconds later;
a cancelled patch counts as failed. Both run methods return once every patch has finished.

With ``retries`` a failed or timed-out patch runs again, up to ``retries`` more times, under the
same id and seq, unless the executor is stopping; it counts once, with its last outcome and the
time of all its attempts. ``on_finish`` sees every finished patch (the job log, thresholds).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .accounting import Accounting
from .errors import ErrorTally
from .patches import PatchResult, Workload

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FinishedPatch:
    seq: int
    patch_id: str
    #: Unix time the first attempt started
    start: float
    #: seconds from the first attempt's start to the last attempt's end
    runtime: float
    result: PatchResult
    attempts: int


#: A patch to run: its seq and its id (None: the executor's own ``NAME-INSTANCE8-SEQ``).
PlannedPatch = tuple[int, str | None]


class Executor:
    def __init__(
        self,
        accounting: Accounting,
        workload: Workload,
        *,
        retries: int = 0,
        on_finish: Callable[[FinishedPatch], None] | None = None,
    ) -> None:
        self.accounting = accounting
        self.workload = workload
        self.retries = retries
        self.on_finish = on_finish
        self.errors = ErrorTally()
        #: patches that ran more than once, those of them that completed, and all attempts
        self.retried = 0
        self.recovered = 0
        self.attempts = 0
        self.skipped = 0
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self._prefix = f"{accounting.daemon}-{accounting.instance_id[:8]}"
        self._issued = 0
        self._stopping = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake: asyncio.Future[None] | None = None
        self._kill_timer: asyncio.TimerHandle | None = None
        self._errors = 0
        self._plan: Sequence[PlannedPatch] | None = None

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def wall_seconds(self) -> float:
        if self.started_at is None:
            return 0.0
        end = time.perf_counter() if self.finished_at is None else self.finished_at
        return end - self.started_at

    async def run_batch(
        self, total: int, concurrency: int, plan: Sequence[PlannedPatch] | None = None
    ) -> None:
        """Run ``total`` patches (seq 1 to total, or the first ``total`` of ``plan``), at most
        ``concurrency`` at once."""
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if plan is not None:
            total = min(total, len(plan))
        self._plan = plan
        self.started_at = time.perf_counter()
        for _ in range(min(concurrency, total)):
            self._track(asyncio.create_task(self._worker(total)))
        await self._wait_all()

    async def run_rate(self, rate: float, concurrency: int) -> None:
        """Start ``rate`` patches per second, at most ``concurrency`` in flight, until stopped."""
        if concurrency < 1 or rate <= 0:
            raise ValueError("rate and concurrency must be positive")
        loop = asyncio.get_running_loop()
        self.started_at = time.perf_counter()
        origin = loop.time()
        slot = 0
        while not self._stopping:
            due = int((loop.time() - origin) * rate) + 1
            while slot < due and not self._stopping:
                slot += 1
                if len(self._tasks) < concurrency:
                    self._issued += 1
                    self._track(asyncio.create_task(self._execute(self._issued)))
                else:
                    self.skipped += 1
            await self._pause(origin + slot / rate - loop.time())
        await self._wait_all()

    def stop(self, grace: float) -> None:
        """Start no more patches; cancel the ones still running after ``grace`` seconds."""
        if self._stopping:
            return
        self._stopping = True
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)
        loop = asyncio.get_running_loop()
        self._kill_timer = loop.call_later(max(grace, 0.0), self._cancel_all)

    def abort(self) -> None:
        """Start no more patches and cancel the ones running now."""
        self.stop(0.0)
        self._cancel_all()

    def _cancel_all(self) -> None:
        if self._tasks:
            log.warning("grace period over: stopping %d patches in flight", len(self._tasks))
        for task in self._tasks:
            task.cancel()

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _wait_all(self) -> None:
        while self._tasks:
            await asyncio.wait(set(self._tasks))
        self.finished_at = time.perf_counter()
        if self._kill_timer is not None:
            self._kill_timer.cancel()

    async def _pause(self, delay: float) -> None:
        """Sleep ``delay`` seconds, or less when ``stop`` is called."""
        if delay <= 0:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        wake: asyncio.Future[None] = loop.create_future()
        timer = loop.call_later(delay, _resolve, wake)
        self._wake = wake
        try:
            await wake
        finally:
            timer.cancel()
            self._wake = None

    async def _worker(self, total: int) -> None:
        plan = self._plan
        while not self._stopping and self._issued < total:
            self._issued += 1
            if plan is None:
                await self._execute(self._issued)
            else:
                seq, patch_id = plan[self._issued - 1]
                await self._execute(seq, patch_id)

    async def _execute(self, seq: int, patch_id: str | None = None) -> None:
        accounting = self.accounting
        if patch_id is None:
            patch_id = f"{self._prefix}-{seq}"
        accounting.patch_started(patch_id)
        begun = time.perf_counter()
        start = time.time()
        instant = False
        attempts = 0
        try:
            while True:
                attempts += 1
                run = self.workload.begin(patch_id, seq)
                if isinstance(run, PatchResult):
                    result, instant = run, True
                else:
                    result = await run
                if result.outcome == "completed" or attempts > self.retries or self._stopping:
                    break
        except asyncio.CancelledError:
            cancelled = PatchResult(
                "failed", None, "cancelled", "still running when the grace period ended"
            )
            self._finish(seq, patch_id, start, begun, cancelled, attempts)
            raise
        except Exception as exc:
            self._errors += 1
            if self._errors == 1:
                log.exception("patch %s failed to run", patch_id)
            result = PatchResult("failed", None, "internal error", f"{type(exc).__name__}: {exc}")
        self._finish(seq, patch_id, start, begun, result, attempts)
        if instant:
            # A patch that finished without waiting: let the API and the other workers run.
            await asyncio.sleep(0)

    def _finish(
        self,
        seq: int,
        patch_id: str,
        start: float,
        begun: float,
        result: PatchResult,
        attempts: int,
    ) -> None:
        runtime = time.perf_counter() - begun
        self.accounting.patch_finished(patch_id, result.outcome, runtime, result.exit_code)
        self.attempts += attempts
        if attempts > 1:
            self.retried += 1
            if result.outcome == "completed":
                self.recovered += 1
        if result.outcome != "completed":
            self.errors.record(patch_id, result)
        if self.on_finish is not None:
            self.on_finish(FinishedPatch(seq, patch_id, start, runtime, result, attempts))


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
