"""``--threshold`` and ``--abort-on-threshold`` on real ``ghost-stress run`` processes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

from .conftest import json_summary

Run = Callable[..., CompletedProcess[str]]


def test_thresholds_that_hold_exit_0(run: Run) -> None:
    result = run(
        "run", "--patches", "20", "--duration", "1ms-5ms", "--seed", "4", "--json",
        "--threshold", "failure_rate<=0%", "--threshold", "success_rate>=0.99",
        "--threshold", "p95<30s", "--threshold", "throughput>0/s",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json_summary(result)
    checks = summary["thresholds"]
    assert [check["expression"] for check in checks] == [
        "failure_rate<=0%", "success_rate>=0.99", "p95<30s", "throughput>0/s",
    ]  # fmt: skip
    assert all(check["passed"] for check in checks)
    measured = [check["measured"] for check in checks]
    assert measured == [
        summary["failure_rate"],
        summary["success_rate"],
        summary["duration_seconds"]["p95"],
        summary["throughput"],
    ]
    assert summary["aborted"] is None


def test_a_breached_threshold_exits_99_and_shows_in_the_table(run: Run) -> None:
    args = ("run", "--patches", "40", "--duration", "0", "--failure-rate", "0.5", "--seed", "7")
    result = run(*args, "--json", "--threshold", "failure_rate<10%", "--threshold", "max<1h")
    assert result.returncode == 99, result.stderr
    summary = json_summary(result)
    breached, held = summary["thresholds"]
    assert (breached["passed"], breached["measured"]) == (False, summary["failure_rate"])
    assert breached["measured"] >= 0.1
    assert held["passed"] is True
    assert summary["total"] == 40  # without --abort-on-threshold the run goes on to the end
    table = run(*args, "--threshold", "failure_rate<10%")
    assert table.returncode == 99
    line = next(line for line in table.stdout.splitlines() if "failure_rate<10%" in line)
    assert "FAIL" in line
    assert f"{breached['measured']:.2%}" in line


def test_a_breach_outranks_min_success_rate(run: Run) -> None:
    result = run(
        "run", "--patches", "4", "--command", "false", "--min-success-rate", "0.5",
        "--threshold", "success_rate>50%",
    )  # fmt: skip
    assert result.returncode == 99, result.stderr


def test_abort_on_threshold_stops_early_and_gracefully(run: Run, tmp_path: Path) -> None:
    # Every patch fails after 200 ms; 5 failures of 500 planned already breach failure_rate<1%
    # for good, and the judging starts with the 20th finished patch.
    marker = tmp_path / "finished"
    script = f"sleep 0.2; echo $GHOST_PATCH_SEQ >> {marker}; exit 5"
    result = run(
        "run", "--patches", "500", "--concurrency", "4", "--shell", "--command", script,
        "--threshold", "failure_rate<1%", "--abort-on-threshold", "--grace", "20s", "--json",
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 99, result.stderr
    summary = json_summary(result)
    assert summary["aborted"] == {"threshold": "failure_rate<1%"}
    assert summary["planned"] == 500
    # Judged from the 20th finished patch on; the ones in flight then still finished.
    assert 20 <= summary["total"] <= 20 + 4
    assert [entry["cause"] for entry in summary["errors"]] == ["exit status 5"]
    assert len(marker.read_text().split()) == summary["total"]  # none was killed
    assert "breached for good" in result.stderr


def test_a_recoverable_rate_does_not_abort(run: Run) -> None:
    # 20 failures of 100 planned: failure_rate<50% can still hold, so the run goes on.
    result = run(
        "run", "--patches", "100", "--duration", "0", "--failure-rate", "0.2", "--seed", "1",
        "--threshold", "failure_rate<50%", "--abort-on-threshold", "--json",
    )  # fmt: skip
    summary = json_summary(result)
    assert (result.returncode, summary["total"], summary["aborted"]) == (0, 100, None)


def test_abort_on_a_duration_threshold_after_min_patches(run: Run) -> None:
    result = run(
        "run", "--patches", "400", "--concurrency", "2", "--duration", "10ms", "--json",
        "--threshold", "p50<1ms", "--abort-on-threshold", "--threshold-min-patches", "6",
    )  # fmt: skip
    assert result.returncode == 99, result.stderr
    summary = json_summary(result)
    assert summary["aborted"] == {"threshold": "p50<1ms"}
    assert 6 <= summary["total"] < 400


def test_abort_on_threshold_needs_a_threshold(run: Run) -> None:
    result = run("run", "--abort-on-threshold")
    assert result.returncode == 2
    assert "--abort-on-threshold needs at least one --threshold" in result.stderr
