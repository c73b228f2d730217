"""The event log's cursor paging and the duration statistics."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ghost_stress.events import MAX_PAGE_LIMIT, EventLog, PatchEvent
from ghost_stress.stats import DurationHistogram, DurationStats, percentile


def _filled(capacity: int, count: int) -> EventLog:
    log = EventLog(capacity)
    for _ in range(count):
        seq = log.next_seq()
        event: PatchEvent = {
            "seq": seq,
            "ts": float(seq),
            "type": "started",
            "patch_id": f"p-{seq}",
            "daemon": "stress",
        }
        log.append(event)
    return log


def test_page_after_cursor() -> None:
    page = _filled(10, 5).page(after=2, limit=2)
    assert [event["seq"] for event in page.events] == [3, 4]
    assert (page.next_after, page.oldest_seq, page.last_seq, page.dropped) == (4, 1, 5, False)


def test_page_reports_events_lost_to_the_ring() -> None:
    log = _filled(4, 10)
    page = log.page(after=0)
    assert [event["seq"] for event in page.events] == [7, 8, 9, 10]
    assert page.dropped is True
    assert page.oldest_seq == 7
    assert log.page(after=6).dropped is False
    assert log.page(after=5).dropped is True


def test_page_cursor_in_the_future_returns_nothing_and_keeps_the_cursor() -> None:
    page = _filled(4, 3).page(after=50)
    assert page.events == []
    assert page.next_after == 50
    assert page.dropped is False


def test_page_at_the_end_and_on_an_empty_log() -> None:
    assert _filled(4, 3).page(after=3).events == []
    empty = EventLog(4).page(after=0)
    assert (empty.events, empty.next_after, empty.oldest_seq, empty.dropped) == ([], 0, 1, False)


def test_page_limit_is_clamped() -> None:
    page = _filled(5000, 3000).page(after=0, limit=10**9)
    assert len(page.events) == MAX_PAGE_LIMIT
    assert page.next_after == MAX_PAGE_LIMIT


def test_page_rejects_negative_cursor_and_limit() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        EventLog(3).page(after=-1)
    with pytest.raises(ValueError, match="must not be negative"):
        EventLog(3).page(after=0, limit=-1)


@given(
    capacity=st.integers(1, 30),
    count=st.integers(0, 80),
    after=st.integers(0, 100),
    limit=st.integers(0, 40),
)
def test_page_is_the_contiguous_run_after_the_cursor(
    capacity: int, count: int, after: int, limit: int
) -> None:
    page = _filled(capacity, count).page(after, limit)
    seqs = [event["seq"] for event in page.events]
    oldest_held = max(1, count - capacity + 1)
    first = max(after + 1, oldest_held)
    expected = list(range(first, min(count, first + limit - 1) + 1)) if limit else []
    assert seqs == expected
    assert page.dropped == (after + 1 < oldest_held)
    assert page.next_after >= after
    if seqs:
        assert page.next_after == seqs[-1]


def test_histogram_buckets_are_cumulative_and_keyed_as_prometheus() -> None:
    histogram = DurationHistogram((0.1, 1.0, 2.5))
    for value in (0.05, 0.1, 0.5, 3.0, 100.0):
        histogram.observe(value)
    snapshot = histogram.snapshot()
    assert snapshot["buckets"] == {"0.1": 2, "1": 3, "2.5": 3, "+Inf": 5}
    assert snapshot["count"] == 5
    assert snapshot["sum"] == pytest.approx(103.65)


def test_default_histogram_keys() -> None:
    keys = list(DurationHistogram().snapshot()["buckets"])
    assert keys == [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30",
        "60", "+Inf",
    ]  # fmt: skip


def test_histogram_rejects_infinite_bounds() -> None:
    with pytest.raises(ValueError, match="finite"):
        DurationHistogram((1.0, float("inf")))


def test_summary_of_durations() -> None:
    stats = DurationStats()
    for value in range(1, 101):
        stats.observe(value / 100)
    assert stats.summary() == {
        "mean": pytest.approx(0.505),
        "stddev": pytest.approx(statistics.pstdev(value / 100 for value in range(1, 101))),
        "min": 0.01,
        "p50": 0.5,
        "p90": 0.9,
        "p95": 0.95,
        "p99": 0.99,
        "max": 1.0,
    }
    empty = DurationStats().summary()
    assert set(empty) == {"mean", "stddev", "min", "p50", "p90", "p95", "p99", "max"}
    assert set(empty.values()) == {0.0}


def test_summary_reservoir_stays_bounded() -> None:
    stats = DurationStats(capacity=50)
    for value in range(1000):
        stats.observe(float(value))
    summary = stats.summary()
    assert summary["max"] == 999.0
    assert summary["mean"] == pytest.approx(499.5)
    assert 0.0 <= summary["p50"] <= summary["p95"] <= 999.0


def test_percentile_nearest_rank() -> None:
    assert percentile([], 0.5) == 0.0
    assert percentile([3.0], 0.95) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.95) == 4.0
