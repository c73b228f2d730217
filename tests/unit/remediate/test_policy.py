"""Cooldown, attempts per window and busy, per service; remembered alerts. A fake clock."""

from __future__ import annotations

from ghost_remediate.policy import Handled, Policy


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_service_is_busy_while_its_remediation_runs() -> None:
    clock = Clock()
    policy = Policy(clock)
    assert policy.check("a", 0, 10, 3600) is None
    policy.start("a")
    assert policy.check("a", 0, 10, 3600) == "skipped_busy"
    assert policy.check("b", 0, 10, 3600) is None  # per service
    policy.finish("a")
    assert policy.check("a", 0, 10, 3600) is None


def test_cooldown_counts_from_the_end_of_the_last_remediation() -> None:
    clock = Clock()
    policy = Policy(clock)
    policy.start("a")
    clock.now += 100  # a long remediation: the cooldown starts when it ends
    policy.finish("a")
    clock.now += 299
    assert policy.check("a", 300, 10, 3600) == "skipped_cooldown"
    clock.now += 1
    assert policy.check("a", 300, 10, 3600) is None


def test_at_most_max_attempts_start_within_the_window() -> None:
    clock = Clock()
    policy = Policy(clock)
    starts = []
    for _ in range(3):
        assert policy.check("a", 0, 3, 600) is None
        starts.append(clock.now)
        policy.start("a")
        policy.finish("a")
        clock.now += 60
    assert policy.check("a", 0, 3, 600) == "skipped_limit"
    clock.now = starts[0] + 600  # the first attempt leaves the window
    assert policy.check("a", 0, 3, 600) is None
    assert policy.check("b", 0, 3, 600) is None


def test_busy_wins_over_limit_and_limit_over_cooldown() -> None:
    clock = Clock()
    policy = Policy(clock)
    policy.start("a")
    assert policy.check("a", 300, 1, 600) == "skipped_busy"
    policy.finish("a")
    assert policy.check("a", 300, 1, 600) == "skipped_limit"
    assert policy.check("a", 300, 2, 600) == "skipped_cooldown"


def test_handled_alerts_are_remembered_until_resolved_or_old() -> None:
    clock = Clock()
    handled = Handled(clock, capacity=3, ttl=100)
    key = ("fp1", "2024-01-01T00:00:00Z")
    assert handled.get(key) is None
    handled.set(key, "in progress")
    handled.set(key, "succeeded")
    assert handled.get(key) == "succeeded"
    assert handled.get(("fp1", "2024-01-02T00:00:00Z")) is None  # fired again: a new instance
    handled.forget(key)
    assert handled.get(key) is None

    handled.set(key, "failed")
    clock.now += 99
    assert handled.get(key) == "failed"
    clock.now += 1
    assert handled.get(key) is None


def test_handled_keeps_the_newest_keys_within_its_capacity() -> None:
    handled = Handled(Clock(), capacity=3, ttl=100)
    for i in range(5):
        handled.set((f"fp{i}", "t"), "succeeded")
    assert len(handled) == 3
    assert handled.get(("fp0", "t")) is None
    assert handled.get(("fp4", "t")) == "succeeded"
