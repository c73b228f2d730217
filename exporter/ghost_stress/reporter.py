"""``--report-to``: POST every event (patches, canaries) to a status API, never slowing patches.

Events go on a bounded queue (``submit`` never waits; an event that finds the queue full is
dropped and counted). One background task drains the queue in order over a shared ClientSession;
a failed POST is retried with exponential backoff (``backoff`` doubling up to ``backoff_max``) up to
``retries`` more times, after which the event counts as failed (at once for a 4xx answer other
than 408, 425 or 429: the status API refused the event itself). Every event ends up counted exactly
once: ``sent + failed + dropped + pending == submitted``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TypedDict

import aiohttp

from .events import Event

log = logging.getLogger(__name__)

#: Client errors worth retrying; any other 4xx means the event itself is refused.
_RETRIED_STATUSES = frozenset({408, 425, 429})


class ReportCounts(TypedDict):
    sent: int
    failed: int
    dropped: int


@dataclass(frozen=True, slots=True)
class ReporterOptions:
    url: str
    queue_size: int = 1000
    timeout: float = 5.0
    retries: int = 5
    backoff: float = 0.1
    backoff_max: float = 5.0


class Reporter:
    def __init__(self, options: ReporterOptions) -> None:
        self.options = options
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self.submitted = 0
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=options.queue_size)
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._busy = False
        self._last_error: str | None = None

    @property
    def pending(self) -> int:
        return self._queue.qsize() + (1 if self._busy else 0)

    def counts(self) -> ReportCounts:
        return {"sent": self.sent, "failed": self.failed, "dropped": self.dropped}

    def submit(self, event: Event) -> None:
        """Queue an event for sending; drop it (counted) when the queue is full."""
        self.submitted += 1
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1

    async def start(self) -> None:
        if self._task is not None:
            return
        timeout = aiohttp.ClientTimeout(total=self.options.timeout)
        self._session = aiohttp.ClientSession(timeout=timeout, raise_for_status=True)
        self._task = asyncio.create_task(self._drain())

    async def close(self, flush_timeout: float = 0.0) -> None:
        """Send what is queued for up to ``flush_timeout`` seconds, then drop the rest."""
        if self._task is None:
            return
        if flush_timeout > 0 and self.pending:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(flush_timeout):
                    await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        while not self._queue.empty():
            self._queue.get_nowait()
            self._queue.task_done()
            self.dropped += 1
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _drain(self) -> None:
        while True:
            event = await self._queue.get()
            self._busy = True
            try:
                if await self._deliver(event):
                    self.sent += 1
                else:
                    self.failed += 1
            except asyncio.CancelledError:
                self.dropped += 1
                raise
            finally:
                self._busy = False
                self._queue.task_done()

    async def _deliver(self, event: Event) -> bool:
        assert self._session is not None
        delay = self.options.backoff
        for attempt in range(self.options.retries + 1):
            if attempt:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.options.backoff_max)
            try:
                async with self._session.post(self.options.url, json=event):
                    pass
            except aiohttp.ClientResponseError as exc:
                self._note_error(exc)
                if exc.status < 500 and exc.status not in _RETRIED_STATUSES:
                    return False
                continue
            except (aiohttp.ClientError, TimeoutError) as exc:
                self._note_error(exc)
                continue
            if self._last_error is not None:
                log.info("reporting to %s works again", self.options.url)
                self._last_error = None
            return True
        return False

    def _note_error(self, exc: BaseException) -> None:
        message = str(exc) or type(exc).__name__
        if self._last_error is None:
            log.warning("reporting to %s failed: %s (retrying)", self.options.url, message)
        self._last_error = message
