"""Patch kinds: what executing one patch means. The executor only knows the :class:`Workload` type.

``begin`` is synchronous up to the point where the patch needs to wait, and draws every random
choice before returning, in patch order: with a seed, patch number N always has the same fate,
however the patches interleave. A patch that needs no waiting returns its result at once, which
keeps zero-duration simulated patches free of per-patch tasks and timers.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from .events import Outcome


@dataclass(frozen=True, slots=True)
class PatchResult:
    """How a patch ended. ``cause`` and ``detail`` explain a failure for the summary's ``errors``
    (a cause such as ``spawn failure`` that the exit code cannot tell); equality ignores them."""

    outcome: Outcome
    exit_code: int | None = None
    cause: str | None = field(default=None, compare=False)
    detail: str | None = field(default=None, compare=False)


COMPLETED = PatchResult("completed")
FAILED = PatchResult("failed", None, "simulated failure", "failed as drawn at --failure-rate")
TIMED_OUT = PatchResult("timeout", None, "timeout", "simulated time longer than --timeout")

PatchRun = PatchResult | Coroutine[Any, Any, PatchResult]


class Workload(Protocol):
    """One kind of patch."""

    def begin(self, patch_id: str, seq: int) -> PatchRun:
        """Start patch ``seq``: its result now, or a coroutine that finishes it."""
        ...


class SimulatedPatches:
    """Patches that take a drawn time and fail with a given probability."""

    def __init__(
        self,
        duration: tuple[float, float],
        *,
        failure_rate: float = 0.0,
        timeout: float = 30.0,
        seed: int | None = None,
    ) -> None:
        low, high = duration
        if not 0 <= low <= high:
            raise ValueError("the duration range must satisfy 0 <= low <= high")
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError("the failure rate must be between 0 and 1")
        self.low = low
        self.high = high
        self.failure_rate = failure_rate
        self.timeout = timeout
        self._random = random.Random(seed)

    def begin(self, patch_id: str, seq: int) -> PatchRun:
        duration = self.low if self.low == self.high else self._random.uniform(self.low, self.high)
        fails = self.failure_rate > 0.0 and self._random.random() < self.failure_rate
        if duration > self.timeout:
            return self._wait(self.timeout, TIMED_OUT)
        result = FAILED if fails else COMPLETED
        if duration <= 0.0:
            return result
        return self._wait(duration, result)

    @staticmethod
    async def _wait(seconds: float, result: PatchResult) -> PatchResult:
        await asyncio.sleep(seconds)
        return result
