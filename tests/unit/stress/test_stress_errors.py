"""Failed patches grouped by cause for the summary's ``errors``."""

from __future__ import annotations

from ghost_stress.errors import ErrorTally, classify
from ghost_stress.patches import FAILED, TIMED_OUT, PatchResult


def test_causes() -> None:
    assert classify(PatchResult("failed", 3)) == ("exit status 3", "exited with status 3")
    assert classify(PatchResult("failed", -9)) == ("signal 9", "killed by SIGKILL")
    assert classify(PatchResult("failed", -200)) == ("signal 200", "killed by signal 200")
    assert classify(TIMED_OUT) == ("timeout", "simulated time longer than --timeout")
    assert classify(FAILED)[0] == "simulated failure"
    assert classify(PatchResult("failed", None, "spawn failure", "cannot run 'x'")) == (
        "spawn failure",
        "cannot run 'x'",
    )
    assert classify(PatchResult("failed")) == ("internal error", "internal error")


def test_tally_counts_keeps_the_first_example_and_sorts_by_count() -> None:
    tally = ErrorTally()
    tally.record("p-1", PatchResult("failed", 1))
    tally.record("p-2", PatchResult("failed", 2))
    tally.record("p-3", PatchResult("failed", 2))
    tally.record("p-4", PatchResult("failed", 1))
    tally.record("p-5", PatchResult("failed", 2))
    assert tally.classes() == [
        {"cause": "exit status 2", "count": 3, "example": "p-2: exited with status 2"},
        {"cause": "exit status 1", "count": 2, "example": "p-1: exited with status 1"},
    ]
    tally.classes()[0]["count"] = 99  # a copy
    assert tally.classes()[0]["count"] == 3
