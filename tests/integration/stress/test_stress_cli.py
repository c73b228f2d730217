"""``ghost-stress run`` as a real process: real commands, exit codes, JSON summary, bad flags."""

from __future__ import annotations

import json
import re
import signal
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest

from .conftest import Stress, validate_summary, wait_gone

Run = Callable[..., CompletedProcess[str]]
StartStress = Callable[..., Stress]

SUMMARY_KEYS = {
    "total", "completed", "failed", "timeout", "success_rate", "wall_seconds", "duration_seconds",
}  # fmt: skip


def _summary(result: CompletedProcess[str]) -> dict[str, Any]:
    assert result.stdout.strip(), result.stderr
    summary: dict[str, Any] = validate_summary(json.loads(result.stdout))
    assert set(summary) >= SUMMARY_KEYS
    assert set(summary["duration_seconds"]) >= {"mean", "p50", "p95", "max"}
    assert summary["completed"] + summary["failed"] + summary["timeout"] == summary["total"]
    return summary


def test_true_completes(run: Run) -> None:
    result = run("run", "--patches", "6", "--concurrency", "3", "--command", "true", "--json")
    assert result.returncode == 0, result.stderr
    summary = _summary(result)
    assert (summary["total"], summary["completed"], summary["success_rate"]) == (6, 6, 1.0)
    assert summary["duration_seconds"]["max"] >= summary["duration_seconds"]["p50"] > 0


def test_false_fails_and_min_success_rate_sets_the_exit_code(run: Run) -> None:
    result = run("run", "--patches", "4", "--command", "false", "--json")
    assert result.returncode == 0, result.stderr
    summary = _summary(result)
    assert (summary["failed"], summary["success_rate"]) == (4, 0.0)
    strict = run("run", "--patches", "2", "--command", "false", "--min-success-rate", "0.5")
    assert strict.returncode == 1
    assert "success rate" in strict.stdout


def test_overrunning_commands_are_killed_with_their_process_group(run: Run, tmp_path: Path) -> None:
    script = (
        f"sleep 30 & echo $! > {tmp_path}/bg-$GHOST_PATCH_SEQ; "
        f"echo $$ > {tmp_path}/pid-$GHOST_PATCH_SEQ; wait"
    )
    began = time.monotonic()
    result = run(
        "run", "--patches", "3", "--concurrency", "3", "--timeout", "300ms",
        "--kill-grace", "500ms", "--shell", "--command", script, "--json",
    )  # fmt: skip
    elapsed = time.monotonic() - began
    assert result.returncode == 0, result.stderr
    summary = _summary(result)
    assert (summary["timeout"], summary["completed"]) == (3, 0)
    assert summary["duration_seconds"]["max"] < 5
    assert elapsed < 20
    pids = [int(path.read_text()) for path in [*tmp_path.glob("bg-*"), *tmp_path.glob("pid-*")]]
    assert len(pids) == 6
    assert wait_gone(pids) == []


def test_command_output_is_kept_bounded_with_patch_environment(run: Run, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    script = "echo id=$GHOST_PATCH_ID seq=$GHOST_PATCH_SEQ; head -c 300000 /dev/zero"
    result = run(
        "run", "--patches", "3", "--command", f"sh -c '{script}'",
        "--log-dir", str(logs), "--log-max-bytes", "1KiB", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert _summary(result)["completed"] == 3
    files = sorted(logs.glob("*.log"))
    assert len(files) == 3
    seqs = set()
    for path in files:
        data = path.read_bytes()
        assert len(data) == 1024
        first_line = data.split(b"\n", 1)[0].decode()
        assert first_line.startswith(f"id={path.stem} seq=")
        seqs.add(first_line.rpartition("seq=")[2])
    assert seqs == {"1", "2", "3"}


def test_shell_exit_status_counts_as_failed(run: Run) -> None:
    result = run("run", "--patches", "2", "--shell", "--command", "exit 3", "--json")
    assert _summary(result)["failed"] == 2


def test_simulated_run_is_repeatable_with_a_seed(run: Run) -> None:
    args = ("run", "--patches", "40", "--duration", "0", "--failure-rate", "0.5", "--json")
    first = _summary(run(*args, "--seed", "11"))
    again = _summary(run(*args, "--seed", "11", "--concurrency", "7"))
    assert (first["completed"], first["failed"]) == (again["completed"], again["failed"])
    assert first["total"] == 40
    assert 0 < first["failed"] < 40


def test_summary_table_without_json(run: Run) -> None:
    result = run("run", "--patches", "3", "--duration", "1ms-5ms")
    assert result.returncode == 0, result.stderr
    for label in ("total", "completed", "success rate", "wall time", "duration p95"):
        assert label in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--duration", "5x"], "invalid duration"),
        (["run", "--duration", "900ms-200ms"], "low end is above the high end"),
        (["run", "--failure-rate", "2"], "invalid fraction"),
        (["run", "--concurrency", "0"], "invalid count"),
        (["run", "--patches", "-1"], "invalid count"),
        (["run", "--timeout", "0"], "must be greater than zero"),
        (["run", "--log-max-bytes", "lots"], "invalid size"),
        (
            ["run", "--timeout", "30"],
            "argument --timeout: invalid duration '30': a number needs a unit: write 30s",
        ),
        (["run", "--duration", "200-900"], "argument --duration: invalid duration range"),
        (["run", "--linger", "30s1m"], "argument --linger: invalid duration '30s1m'"),
        (["run", "--threshold", "p95<2"], "p95 takes a duration such as 300ms or 2s, got '2'"),
        (["daemon", "--grace", "1.5"], "argument --grace: invalid duration '1.5'"),
        (["run", "--command", "no-such-command-ghost"], "not an executable"),
        (["run", "--command", "true", "--duration", "1s"], "apply to simulated patches"),
        (["run", "--shell"], "--shell needs --command"),
        (["run", "--report-to", "ftp://x"], "invalid URL"),
        (["daemon", "--rate", "0/s"], "invalid rate"),
        (["daemon", "--rate", "5/d"], "invalid rate"),
        (["daemon", "--listen", "8790"], "invalid listen address"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_bad_flags_exit_2_with_a_message(run: Run, args: list[str], message: str) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr


def test_listen_conflict_exits_2(stress: StartStress) -> None:
    first = stress("run", "--patches", "1", "--duration", "0", "--linger", "30s")
    port = first.port()
    second = stress(
        "run", "--patches", "1", "--duration", "0", "--listen", f"127.0.0.1:{port}", listen=False
    )
    code, _, err = second.finish()
    assert code == 2
    assert "cannot listen" in err


def test_linger_keeps_the_status_api_up_after_the_run(stress: StartStress) -> None:
    daemon = stress("run", "--patches", "5", "--duration", "0", "--linger", "30s", "--json")
    with urllib.request.urlopen(daemon.url("/api/status"), timeout=5) as response:
        status = json.load(response)
    # The port file is written before the run starts; wait for the run to be over.
    deadline = time.monotonic() + 10
    while status["patches"]["started"] < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
        with urllib.request.urlopen(daemon.url("/api/status"), timeout=5) as response:
            status = json.load(response)
    assert status["patches"]["completed"] == 5
    began = time.monotonic()
    daemon.process.send_signal(signal.SIGTERM)
    code, summary, err = daemon.summary(timeout=10)
    assert code == 0, err
    assert time.monotonic() - began < 5
    assert summary["total"] == 5
    assert "listening on http://127.0.0.1:" in err


def _listening_port(daemon: Stress, timeout: float = 20.0) -> int:
    """The port of the ``listening on URL`` line the process prints on stderr (read on a thread,
    so that a process that prints nothing fails the test after ``timeout``)."""
    stderr = daemon.process.stderr
    assert stderr is not None
    seen: list[str] = []
    found: list[int] = []

    def read() -> None:
        for line in stderr:
            seen.append(line)
            match = re.fullmatch(r"listening on http://127\.0\.0\.1:(\d+)", line.strip())
            if match:
                found.append(int(match.group(1)))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    assert found, f"no 'listening on' line on stderr within {timeout}s: {seen}"
    return found[0]


def test_run_without_listen_serves_on_a_free_port_and_keeps_json_on_stdout(
    stress: StartStress,
) -> None:
    """`ghost-stress run` must not need 8790, which `make run`'s daemon holds."""
    daemon = stress(
        "run", "--patches", "2", "--duration", "0", "--linger", "30s", "--json",
        "--name", "oneshot", listen=False,
    )  # fmt: skip
    port = _listening_port(daemon)
    assert port not in (0, 8790)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5) as response:
        status = json.load(response)
    assert status["daemon"] == "oneshot"
    daemon.process.send_signal(signal.SIGTERM)
    code, summary, err = daemon.summary(timeout=10)
    assert code == 0, err
    assert summary["total"] == 2
