"""The versioned ``--json`` summary of real runs, checked against the schema that ships with it."""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import Callable
from subprocess import CompletedProcess

from ghost_stress.accounting import Accounting
from ghost_stress.command import CommandPatches
from ghost_stress.executor import Executor

from .conftest import Stress, json_summary

Run = Callable[..., CompletedProcess[str]]
StartStress = Callable[..., Stress]


def test_errors_are_grouped_by_cause_with_an_example(run: Run) -> None:
    # seq % 5: 1 exits 3, 2 exits 4, 3 is killed by SIGKILL, 4 overruns --timeout, 0 completes.
    script = (
        "case $((GHOST_PATCH_SEQ % 5)) in 1) exit 3;; 2) exit 4;; 3) kill -KILL $$;; "
        "4) sleep 30;; esac"
    )
    result = run(
        "run", "--patches", "10", "--concurrency", "5", "--shell", "--command", script,
        "--timeout", "500ms", "--kill-grace", "200ms", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json_summary(result)
    assert summary["schema_version"] == 1
    assert (summary["total"], summary["completed"], summary["failed"], summary["timeout"]) == (
        10, 2, 6, 2,
    )  # fmt: skip
    assert summary["failure_rate"] == 0.6
    assert summary["timeout_rate"] == 0.2
    assert summary["seed"] is None
    errors = {entry["cause"]: entry for entry in summary["errors"]}
    assert set(errors) == {"exit status 3", "exit status 4", f"signal {signal.SIGKILL}", "timeout"}
    assert {entry["count"] for entry in errors.values()} == {2}
    assert re.fullmatch(
        r"stress-[0-9a-f]{8}-(1|6): exited with status 3", errors["exit status 3"]["example"]
    )
    assert errors[f"signal {signal.SIGKILL}"]["example"].endswith("killed by SIGKILL")
    assert "--timeout 0.5s" in errors["timeout"]["example"]
    durations = summary["duration_seconds"]
    order = ["min", "p50", "p90", "p95", "p99", "max"]
    assert [durations[key] for key in order] == sorted(durations[key] for key in order)
    assert durations["min"] <= durations["mean"] <= durations["max"]
    assert durations["stddev"] > 0
    assert summary["throughput"] == summary["total"] / summary["wall_seconds"]


def test_a_random_seed_is_recorded_and_reproduces_the_run(run: Run) -> None:
    args = ("run", "--patches", "60", "--duration", "0", "--failure-rate", "0.5", "--json")
    first = run(*args)
    summary = json_summary(first)
    seed = summary["seed"]
    assert isinstance(seed, int)
    assert f"seed {seed}" in first.stderr.splitlines()
    again = json_summary(run(*args, "--seed", str(seed), "--concurrency", "9"))
    assert again["seed"] == seed
    assert (again["completed"], again["failed"]) == (summary["completed"], summary["failed"])
    assert summary["errors"] == [
        {
            "cause": "simulated failure",
            "count": summary["failed"],
            "example": summary["errors"][0]["example"],
        }
    ]


def test_empty_run_has_a_valid_summary(run: Run) -> None:
    summary = json_summary(run("run", "--patches", "0", "--json"))
    assert (summary["total"], summary["throughput"], summary["errors"]) == (0, 0.0, [])
    assert set(summary["duration_seconds"].values()) == {0.0}


def test_daemon_summary_is_valid(stress: StartStress) -> None:
    daemon = stress("daemon", "--rate", "50/s", "--duration", "0-5ms", "--seed", "3", "--json")
    daemon.port()
    daemon.process.send_signal(signal.SIGTERM)
    code, summary, err = daemon.summary(timeout=15)  # validates against the schema
    assert code == 0, err
    assert (summary["mode"], summary["planned"], summary["seed"]) == ("daemon", None, 3)
    assert isinstance(summary["skipped"], int)


async def test_spawn_failure_is_its_own_cause() -> None:
    """A command that vanished after start-up: the OSError is the example."""
    accounting = Accounting("stress")
    executor = Executor(accounting, CommandPatches("/nonexistent/ghost-patch"))
    await asyncio.wait_for(executor.run_batch(3, 2), 30)
    [entry] = executor.errors.classes()
    assert (entry["cause"], entry["count"]) == ("spawn failure", 3)
    assert "cannot run '/nonexistent/ghost-patch'" in entry["example"]
    assert "No such file" in entry["example"]
