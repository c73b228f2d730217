"""The canary token bucket, on a clock the test moves."""

from __future__ import annotations

import pytest

from ghost_stress.canary import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_admits_a_burst_then_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(10.0, 10.0, clock)
    assert [bucket.take() for _ in range(11)] == [True] * 10 + [False]
    clock.now += 0.0625  # not quite a token
    assert not bucket.take()
    clock.now += 0.0625
    assert bucket.take()
    assert not bucket.take()


def test_idle_time_saves_at_most_a_burst() -> None:
    clock = Clock()
    bucket = TokenBucket(10.0, 10.0, clock)
    for _ in range(10):
        bucket.take()
    clock.now += 3600
    assert sum(bucket.take() for _ in range(50)) == 10


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 10.0), (-1.0, 10.0), (10.0, 0.5)])
def test_a_bucket_needs_a_positive_rate_and_a_burst(rate: float, burst: float) -> None:
    with pytest.raises(ValueError, match="positive rate"):
        TokenBucket(rate, burst)
