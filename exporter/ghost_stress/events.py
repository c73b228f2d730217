"""Patch and canary events and the bounded event log behind ``GET /api/patches``."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from itertools import islice
from typing import Literal, NotRequired, TypedDict

EventType = Literal["started", "completed", "failed", "timeout"]
Outcome = Literal["completed", "failed", "timeout"]

#: Default and largest number of events one ``GET /api/patches`` returns.
DEFAULT_PAGE_LIMIT = 100
MAX_PAGE_LIMIT = 1000


class PatchEvent(TypedDict):
    """One patch event, as the log, ``/ws`` and ``--report-to`` carry it."""

    seq: int
    ts: float
    type: EventType
    patch_id: str
    daemon: str
    duration_seconds: NotRequired[float]
    exit_code: NotRequired[int | None]


class CanaryEvent(TypedDict):
    """A canary (``POST /api/canary``): it travels the event path of a patch but is not one."""

    seq: int
    ts: float
    type: Literal["canary"]
    canary_id: str
    daemon: str


Event = PatchEvent | CanaryEvent


@dataclass(frozen=True, slots=True)
class EventPage:
    """One page of the event log after a cursor."""

    events: list[Event]
    next_after: int
    oldest_seq: int
    last_seq: int
    dropped: bool

    def to_json(self) -> dict[str, object]:
        return {
            "events": self.events,
            "next_after": self.next_after,
            "oldest_seq": self.oldest_seq,
            "last_seq": self.last_seq,
            "dropped": self.dropped,
        }


class EventLog:
    """A ring buffer of the latest events; sequence numbers start at 1 and have no gaps."""

    __slots__ = ("_events", "capacity", "last_seq")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("the event buffer must hold at least one event")
        self.capacity = capacity
        self._events: deque[Event] = deque(maxlen=capacity)
        self.last_seq = 0

    def next_seq(self) -> int:
        """Reserve the sequence number of the next event."""
        self.last_seq += 1
        return self.last_seq

    def append(self, event: Event) -> None:
        self._events.append(event)

    @property
    def oldest_seq(self) -> int:
        """The sequence number of the oldest event still held (``last_seq + 1`` when empty)."""
        return self._events[0]["seq"] if self._events else self.last_seq + 1

    def page(self, after: int, limit: int = DEFAULT_PAGE_LIMIT) -> EventPage:
        """Events with ``seq > after``, oldest first, at most ``limit`` (clamped to 1000).

        ``dropped`` says that events between ``after`` and the oldest one held were overwritten.
        A cursor at or past the newest event returns no events and keeps the cursor.
        """
        if after < 0 or limit < 0:
            raise ValueError("after and limit must not be negative")
        limit = min(limit, MAX_PAGE_LIMIT)
        oldest = self.oldest_seq
        dropped = after + 1 < oldest
        start = max(after + 1, oldest)
        offset = start - oldest
        if offset >= len(self._events):  # at or past the newest event, however far (no islice)
            events: list[Event] = []
        else:
            events = list(islice(self._events, offset, offset + limit))
        next_after = events[-1]["seq"] if events else max(after, min(start - 1, self.last_seq))
        return EventPage(events, next_after, oldest, self.last_seq, dropped)
