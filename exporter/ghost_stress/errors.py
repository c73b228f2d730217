"""Failed and timed-out patches grouped by cause, with a count and one example message each."""

from __future__ import annotations

import signal
from typing import TypedDict

from .patches import PatchResult


class ErrorClass(TypedDict):
    #: ``exit status N``, ``signal N``, ``timeout``, ``spawn failure``, ``cancelled``,
    #: ``simulated failure`` or ``internal error``
    cause: str
    count: int
    example: str


def classify(result: PatchResult) -> tuple[str, str]:
    """The cause of a failed or timed-out patch and a message describing it."""
    code = result.exit_code
    if result.outcome != "timeout" and code is not None:
        if code >= 0:
            return f"exit status {code}", result.detail or f"exited with status {code}"
        number = -code
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return f"signal {number}", result.detail or f"killed by {name}"
    cause = result.cause or ("timeout" if result.outcome == "timeout" else "internal error")
    return cause, result.detail or cause


class ErrorTally:
    """Counts per cause; the first message of each cause is kept as its example."""

    __slots__ = ("_classes",)

    def __init__(self) -> None:
        self._classes: dict[str, ErrorClass] = {}

    def record(self, patch_id: str, result: PatchResult) -> None:
        cause, message = classify(result)
        entry = self._classes.get(cause)
        if entry is None:
            self._classes[cause] = {"cause": cause, "count": 1, "example": f"{patch_id}: {message}"}
        else:
            entry["count"] += 1

    def classes(self) -> list[ErrorClass]:
        """Most frequent first; ties in the order they first happened."""
        copies = [ErrorClass(**entry) for entry in self._classes.values()]
        return sorted(copies, key=_by_count)


def _by_count(entry: ErrorClass) -> int:
    return -entry["count"]
