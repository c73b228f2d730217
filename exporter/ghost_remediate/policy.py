"""When a remediation may start: per service cooldown, attempts per window, one at a time, and at
most so many actions an hour across every service; and
which alerts were already handled, so that a repeated notification runs nothing twice.

Every method takes no time and never awaits: a decision and the bookkeeping that follows it
happen in one step of the event loop, so two notifications cannot both start the same service.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal

Clock = Callable[[], float]
Skip = Literal["skipped_busy", "skipped_limit", "skipped_cooldown", "skipped_global_limit"]
AlertKey = tuple[str, str]  # (fingerprint, startsAt)

#: How many handled alerts are remembered, and for how long (seconds).
MAX_REMEMBERED: Final = 10_000
REMEMBER_FOR: Final = 7 * 86400.0
#: The sliding window of the global limit (max_actions_per_hour), seconds.
GLOBAL_WINDOW: Final = 3600.0


@dataclass
class ServiceState:
    busy: bool = False
    starts: deque[float] = field(default_factory=deque)  # start times within the window
    last_end: float | None = None


class Policy:
    """Per-service state; ``clock`` is monotonic seconds (injectable for tests)."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self._services: dict[str, ServiceState] = {}
        self._starts: deque[float] = deque()  # every start within GLOBAL_WINDOW

    def _state(self, service: str) -> ServiceState:
        return self._services.setdefault(service, ServiceState())

    def check(
        self,
        service: str,
        cooldown: float,
        max_attempts: int,
        window: float,
        max_per_hour: int | None = None,
    ) -> Skip | None:
        """Why a remediation of ``service`` may not start now, or None when it may. The
        service's own reasons come first; ``max_per_hour`` (None: no limit) counts the starts
        of every service over the last hour."""
        state = self._state(service)
        now = self.clock()
        while state.starts and state.starts[0] <= now - window:
            state.starts.popleft()
        while self._starts and self._starts[0] <= now - GLOBAL_WINDOW:
            self._starts.popleft()
        if state.busy:
            return "skipped_busy"
        if len(state.starts) >= max_attempts:
            return "skipped_limit"
        if state.last_end is not None and now - state.last_end < cooldown:
            return "skipped_cooldown"
        if max_per_hour is not None and len(self._starts) >= max_per_hour:
            return "skipped_global_limit"
        return None

    def start(self, service: str) -> None:
        state = self._state(service)
        state.busy = True
        now = self.clock()
        state.starts.append(now)
        self._starts.append(now)

    def finish(self, service: str) -> None:
        state = self._state(service)
        state.busy = False
        state.last_end = self.clock()

    def busy(self, service: str) -> bool:
        return self._state(service).busy


class Handled:
    """Alerts already acted on (running, done, or refused), by fingerprint and start time.

    Alertmanager repeats a firing alert's notification every ``repeat_interval`` and sends it
    again after a failed delivery; the same key then runs nothing. A resolved notification
    forgets the key; otherwise the oldest keys go past MAX_REMEMBERED or REMEMBER_FOR.
    """

    def __init__(
        self,
        clock: Clock = time.monotonic,
        capacity: int = MAX_REMEMBERED,
        ttl: float = REMEMBER_FOR,
    ) -> None:
        self.clock = clock
        self.capacity = capacity
        self.ttl = ttl
        self._keys: OrderedDict[AlertKey, tuple[float, str]] = OrderedDict()

    def _expire(self) -> None:
        now = self.clock()
        while self._keys:
            key, (since, _) = next(iter(self._keys.items()))
            if now - since < self.ttl and len(self._keys) <= self.capacity:
                break
            del self._keys[key]

    def get(self, key: AlertKey) -> str | None:
        """What became of ``key`` ("in progress", "succeeded", ...), or None if unknown."""
        self._expire()
        entry = self._keys.get(key)
        return None if entry is None else entry[1]

    def set(self, key: AlertKey, outcome: str) -> None:
        since = self._keys[key][0] if key in self._keys else self.clock()
        self._keys[key] = (since, outcome)
        self._expire()

    def forget(self, key: AlertKey) -> None:
        self._keys.pop(key, None)

    def __len__(self) -> int:
        return len(self._keys)
