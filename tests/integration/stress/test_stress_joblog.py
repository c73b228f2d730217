"""``--joblog``, ``--retries`` and ``--resume-failed`` on real ``ghost-stress run`` processes."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest

from .conftest import json_summary

Run = Callable[..., CompletedProcess[str]]

JOBLOG_KEYS = {
    "seq", "id", "start", "runtime", "outcome", "exit_status", "signal", "attempts", "command",
}  # fmt: skip


def _lines(path: Path) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for line in lines:
        assert set(line) == JOBLOG_KEYS
    return lines


def _ran(path: Path) -> list[str]:
    """The GHOST_PATCH_ID of every run of the script, in order."""
    return path.read_text().split() if path.exists() else []


def test_joblog_has_a_line_per_patch(run: Run, tmp_path: Path) -> None:
    joblog = tmp_path / "jobs.jsonl"
    joblog.write_text("")  # appended to, never truncated
    script = "case $GHOST_PATCH_SEQ in 2) exit 3;; 4) kill -TERM $$;; 5) sleep 30;; esac"
    result = run(
        "run", "--patches", "6", "--concurrency", "3", "--shell", "--command", script,
        "--timeout", "500ms", "--kill-grace", "200ms", "--joblog", str(joblog), "--json",
    )  # fmt: skip
    summary = json_summary(result)
    lines = {line["seq"]: line for line in _lines(joblog)}
    assert sorted(lines) == [1, 2, 3, 4, 5, 6]
    assert len(lines) == summary["total"]
    outcomes = {
        seq: (line["outcome"], line["exit_status"], line["signal"]) for seq, line in lines.items()
    }
    assert outcomes == {
        1: ("completed", 0, None),
        2: ("failed", 3, None),
        3: ("completed", 0, None),
        4: ("failed", None, int(signal.SIGTERM)),
        5: ("timeout", None, None),
        6: ("completed", 0, None),
    }
    for seq, line in lines.items():
        assert line["id"].endswith(f"-{seq}")
        assert (line["attempts"], line["command"]) == (1, script)
        assert line["runtime"] >= 0
        assert line["start"] > 1.7e9
    assert lines[5]["runtime"] >= 0.5


def test_a_patch_that_passes_on_retry_counts_as_completed(run: Run, tmp_path: Path) -> None:
    # Odd patches fail their first attempt only; patch 4 always fails.
    marks = tmp_path / "marks"
    marks.mkdir()
    script = (
        f'[ "$GHOST_PATCH_SEQ" = 4 ] && exit 9; m={marks}/$GHOST_PATCH_SEQ; '
        f'if [ $((GHOST_PATCH_SEQ % 2)) = 1 ] && [ ! -e "$m" ]; then touch "$m"; exit 1; fi'
    )
    joblog = tmp_path / "jobs.jsonl"
    result = run(
        "run", "--patches", "6", "--shell", "--command", script, "--retries", "2",
        "--joblog", str(joblog), "--json",
    )  # fmt: skip
    summary = json_summary(result)
    assert (summary["completed"], summary["failed"]) == (5, 1)
    # Patches 1, 3, 5 took two attempts, patch 4 three (1 + 2 retries).
    assert summary["retries"] == {"patches": 4, "recovered": 3, "attempts": 3 * 2 + 3 + 2}
    assert summary["errors"] == [
        {"cause": "exit status 9", "count": 1, "example": summary["errors"][0]["example"]}
    ]
    attempts = {line["seq"]: line["attempts"] for line in _lines(joblog)}
    assert attempts == {1: 2, 2: 1, 3: 2, 4: 3, 5: 2, 6: 1}


def test_resume_failed_runs_exactly_the_failed_patches(run: Run, tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    fails = tmp_path / "fails"
    fails.write_text("2 5 7")
    script = (
        f"echo $GHOST_PATCH_ID >> {ran}; "
        f'for s in $(cat {fails}); do [ "$s" = "$GHOST_PATCH_SEQ" ] && exit 4; done; exit 0'
    )
    joblog = tmp_path / "jobs.jsonl"
    first = run(
        "run", "--patches", "10", "--concurrency", "4", "--shell", "--command", script,
        "--joblog", str(joblog), "--json",
    )  # fmt: skip
    assert json_summary(first)["failed"] == 3
    failed_ids = sorted(line["id"] for line in _lines(joblog) if line["outcome"] == "failed")
    assert [int(pid.rpartition("-")[2]) for pid in failed_ids] == [2, 5, 7]
    ran.unlink()

    fails.write_text("5")  # 2 and 7 pass now, 5 still fails
    second = run(
        "run", "--resume-failed", str(joblog), "--shell", "--command", script,
        "--joblog", str(joblog), "--json",
    )  # fmt: skip
    summary = json_summary(second)
    assert (summary["planned"], summary["completed"], summary["failed"]) == (3, 2, 1)
    assert sorted(_ran(ran)) == failed_ids  # the same ids (and seqs), nothing else
    assert len(_lines(joblog)) == 13
    ran.unlink()

    third = run(
        "run", "--resume-failed", str(joblog), "--shell", "--command", script, "--json"
    )  # fmt: skip
    assert json_summary(third)["planned"] == 1
    assert _ran(ran) == [pid for pid in failed_ids if pid.endswith("-5")]

    fails.write_text("")
    run("run", "--resume-failed", str(joblog), "--shell", "--command", script, "--joblog",
        str(joblog))  # fmt: skip
    ran.unlink()
    done = run("run", "--resume-failed", str(joblog), "--shell", "--command", script, "--json")
    assert json_summary(done)["planned"] == 0
    assert _ran(ran) == []


def test_resume_failed_of_simulated_patches(run: Run, tmp_path: Path) -> None:
    joblog = tmp_path / "jobs.jsonl"
    args = ("run", "--duration", "0", "--json")
    first = json_summary(
        run(*args, "--patches", "30", "--failure-rate", "0.5", "--joblog", str(joblog))
    )
    again = json_summary(run(*args, "--resume-failed", str(joblog)))
    assert again["planned"] == first["failed"] > 0
    assert again["completed"] == first["failed"]  # no --failure-rate: every patch passes


@pytest.mark.parametrize(
    ("log", "extra", "message"),
    [
        ('{"seq": 1, "id": "a-1", "outcome": "failed", "command": "false"}\n', [],
         "the failed patches of {log} ran --command 'false'; give the same --command"),
        ('{"seq": 1, "id": "a-1", "outcome": "failed", "command": null}\n', ["--command", "true"],
         "{log} records simulated patches; run them without --command"),
        ('{"seq": 1, "id": "a-1", "outcome": "failed"}\nnot json\n', [],
         "{log}:2: not a JSON line"),
        ('{"seq": 0, "id": "a-1", "outcome": "failed"}\n', [],
         "{log}:1: key 'seq' must be a whole number >= 1, got 0"),
        ('{"seq": 1, "id": "a-1", "outcome": "lost"}\n', [],
         "{log}:1: key 'outcome' must be one of completed, failed, timeout, got 'lost'"),
        ("", ["--patches", "3"], "--patches and --resume-failed exclude each other"),
    ],
)  # fmt: skip
def test_bad_resume_is_a_usage_error(
    run: Run, tmp_path: Path, log: str, extra: list[str], message: str
) -> None:
    path = tmp_path / "jobs.jsonl"
    path.write_text(log)
    result = run("run", "--resume-failed", str(path), *extra)
    assert result.returncode == 2
    assert message.format(log=path) in result.stderr


def test_joblog_that_cannot_be_opened_is_a_usage_error(run: Run, tmp_path: Path) -> None:
    result = run("run", "--joblog", str(tmp_path / "missing" / "jobs.jsonl"))
    assert result.returncode == 2
    assert f"cannot open --joblog {tmp_path / 'missing' / 'jobs.jsonl'}" in result.stderr


@pytest.mark.parametrize("flag", [["--joblog", "x"], ["--retries", "1"], ["--resume-failed", "x"]])
def test_job_flags_are_run_only(run: Run, flag: list[str]) -> None:
    result = run("daemon", *flag)
    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr
