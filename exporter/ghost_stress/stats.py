"""Patch duration statistics: a cumulative histogram for the status API and a summary for people."""

from __future__ import annotations

import math
import random
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

from .units import format_bucket

#: Bucket upper bounds of the patch duration histogram (seconds); +Inf is implied.
DURATION_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)

#: How many durations the summary keeps for its percentiles (a uniform reservoir sample).
RESERVOIR_SIZE = 100_000


class HistogramSnapshot(TypedDict):
    buckets: dict[str, int]
    sum: float
    count: int


class DurationSummary(TypedDict):
    mean: float
    stddev: float
    min: float
    p50: float
    p90: float
    p95: float
    p99: float
    max: float


class DurationHistogram:
    """A Prometheus-style histogram whose snapshot has cumulative buckets keyed as ``le`` labels."""

    __slots__ = ("_bounds", "_counts", "_keys", "count", "sum")

    def __init__(self, bounds: Sequence[float] = DURATION_BUCKETS) -> None:
        ordered = sorted(set(bounds))
        if any(math.isinf(bound) or math.isnan(bound) for bound in ordered):
            raise ValueError("histogram bounds must be finite; +Inf is implied")
        self._bounds = tuple(ordered)
        self._keys = (*(format_bucket(bound) for bound in ordered), "+Inf")
        self._counts = [0] * (len(ordered) + 1)
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self._counts[bisect_left(self._bounds, value)] += 1
        self.count += 1
        self.sum += value

    def snapshot(self) -> HistogramSnapshot:
        buckets: dict[str, int] = {}
        running = 0
        for key, count in zip(self._keys, self._counts, strict=True):
            running += count
            buckets[key] = running
        return {"buckets": buckets, "sum": self.sum, "count": self.count}


class DurationStats:
    """Mean, standard deviation, minimum and maximum over every duration; percentiles over a
    bounded uniform sample."""

    __slots__ = (
        "_capacity", "_m2", "_mean", "_random", "_samples", "count", "maximum", "minimum", "total",
    )  # fmt: skip

    def __init__(self, capacity: int = RESERVOIR_SIZE, seed: int | None = 0) -> None:
        self._capacity = capacity
        self._samples: list[float] = []
        self._random = random.Random(seed)
        self.count = 0
        self.total = 0.0
        self.maximum = 0.0
        self.minimum = math.inf
        self._mean = 0.0
        self._m2 = 0.0

    def observe(self, value: float) -> None:
        self.count += 1
        self.total += value
        if value > self.maximum:
            self.maximum = value
        if value < self.minimum:
            self.minimum = value
        # Welford's running variance: stable where the sum of squares is not.
        delta = value - self._mean
        self._mean += delta / self.count
        self._m2 += delta * (value - self._mean)
        if len(self._samples) < self._capacity:
            self._samples.append(value)
        else:
            slot = self._random.randrange(self.count)
            if slot < self._capacity:
                self._samples[slot] = value

    def summary(self) -> DurationSummary:
        ordered = sorted(self._samples)
        return {
            "mean": self.total / self.count if self.count else 0.0,
            "stddev": math.sqrt(self._m2 / self.count) if self.count else 0.0,
            "min": self.minimum if self.count else 0.0,
            "p50": percentile(ordered, 0.50),
            "p90": percentile(ordered, 0.90),
            "p95": percentile(ordered, 0.95),
            "p99": percentile(ordered, 0.99),
            "max": self.maximum,
        }


def percentile(ordered: Sequence[float], quantile: float) -> float:
    """Nearest-rank percentile of an ascending sequence; 0.0 when it is empty."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(quantile * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True, slots=True)
class Counts:
    """Patch counts at one instant."""

    started: int
    completed: int
    failed: int
    timeout: int
    in_flight: int

    @property
    def finished(self) -> int:
        return self.completed + self.failed + self.timeout

    @property
    def success_rate(self) -> float:
        """Completed over finished; 1.0 before anything has finished."""
        return self.completed / self.finished if self.finished else 1.0
