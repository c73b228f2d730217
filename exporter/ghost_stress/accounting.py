"""Patch accounting: counters, the duration histogram, the event log and the event fan-out.

Canaries (:meth:`Accounting.canary`) share the event log and the fan-out with patches but touch
no patch counter: only ``canaries`` counts them.

Every method runs in the event loop and none of them awaits, so each update is atomic with respect
to every reader: ``started == completed + failed + timeout + in_flight`` holds at every instant.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from .events import CanaryEvent, Event, EventLog, Outcome, PatchEvent
from .stats import DURATION_BUCKETS, Counts, DurationHistogram, DurationStats

EventSink = Callable[[Event], None]


class Accounting:
    """The cumulative state of one daemon instance, shared by the executor and the status API."""

    def __init__(
        self,
        daemon: str,
        *,
        event_buffer: int = 10_000,
        buckets: tuple[float, ...] = DURATION_BUCKETS,
    ) -> None:
        self.daemon = daemon
        self.instance_id = uuid.uuid4().hex
        self.started_at = time.time()
        self.log = EventLog(event_buffer)
        self.histogram = DurationHistogram(buckets)
        self.stats = DurationStats()
        self.started = 0
        self.completed = 0
        self.failed = 0
        self.timeout = 0
        self.in_flight = 0
        self.canaries = 0
        self._sinks: list[EventSink] = []

    def subscribe(self, sink: EventSink) -> None:
        """Call ``sink`` with every new event; a sink must not block or raise."""
        self._sinks.append(sink)

    def unsubscribe(self, sink: EventSink) -> None:
        self._sinks.remove(sink)

    def patch_started(self, patch_id: str) -> None:
        self.started += 1
        self.in_flight += 1
        event: PatchEvent = {
            "seq": self.log.next_seq(),
            "ts": time.time(),
            "type": "started",
            "patch_id": patch_id,
            "daemon": self.daemon,
        }
        self._emit(event)

    def patch_finished(
        self, patch_id: str, outcome: Outcome, duration: float, exit_code: int | None = None
    ) -> None:
        self.in_flight -= 1
        if outcome == "completed":
            self.completed += 1
        elif outcome == "failed":
            self.failed += 1
        else:
            self.timeout += 1
        self.histogram.observe(duration)
        self.stats.observe(duration)
        event: PatchEvent = {
            "seq": self.log.next_seq(),
            "ts": time.time(),
            "type": outcome,
            "patch_id": patch_id,
            "daemon": self.daemon,
            "duration_seconds": duration,
            "exit_code": exit_code,
        }
        self._emit(event)

    def canary(self, canary_id: str) -> CanaryEvent:
        """Put a canary event through the event path (log, ``/ws``, reporting); no patch counts."""
        self.canaries += 1
        event: CanaryEvent = {
            "seq": self.log.next_seq(),
            "ts": time.time(),
            "type": "canary",
            "canary_id": canary_id,
            "daemon": self.daemon,
        }
        self._emit(event)
        return event

    def _emit(self, event: Event) -> None:
        self.log.append(event)
        for sink in self._sinks:
            sink(event)

    def counts(self) -> Counts:
        return Counts(self.started, self.completed, self.failed, self.timeout, self.in_flight)

    def status(self) -> dict[str, Any]:
        """The ``GET /api/status`` document of the patch status protocol."""
        return {
            "daemon": self.daemon,
            "instance_id": self.instance_id,
            "started_at": self.started_at,
            "patches": {
                "started": self.started,
                "completed": self.completed,
                "failed": self.failed,
                "timeout": self.timeout,
                "in_flight": self.in_flight,
            },
            "duration_seconds": self.histogram.snapshot(),
            "canaries": self.canaries,
        }
