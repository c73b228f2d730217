"""``ghost-stress daemon`` as a real process: rate, status reads, clean stop on SIGTERM."""

from __future__ import annotations

import json
import signal
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .conftest import Stress, wait_gone

StartStress = Callable[..., Stress]


def _status(daemon: Stress) -> dict[str, Any]:
    with urllib.request.urlopen(daemon.url("/api/status"), timeout=5) as response:
        status: dict[str, Any] = json.load(response)
    patches = status["patches"]
    finished = patches["completed"] + patches["failed"] + patches["timeout"]
    assert patches["started"] == finished + patches["in_flight"]
    return status


def test_rate_is_roughly_honoured_and_sigterm_exits_cleanly(stress: StartStress) -> None:
    daemon = stress(
        "daemon", "--rate", "25/s", "--duration", "100ms-300ms", "--concurrency", "50",
        "--failure-rate", "0.2", "--json", "--name", "stress-it",
    )  # fmt: skip
    first = _status(daemon)
    began = time.monotonic()
    time.sleep(2.0)
    second = _status(daemon)
    elapsed = time.monotonic() - began
    started = second["patches"]["started"] - first["patches"]["started"]
    assert 0.4 * 25 * elapsed <= started <= 2.0 * 25 * elapsed + 5
    assert second["daemon"] == "stress-it"
    assert second["instance_id"] == first["instance_id"]
    assert second["skipped"] == 0

    stopping = time.monotonic()
    daemon.process.send_signal(signal.SIGTERM)
    code, summary, err = daemon.summary(timeout=15)
    assert code == 0, err
    assert time.monotonic() - stopping < 5
    assert summary["total"] >= second["patches"]["started"]
    assert summary["total"] == summary["completed"] + summary["failed"] + summary["timeout"]
    assert summary["timeout"] == 0


def test_at_capacity_the_daemon_skips_instead_of_queueing(stress: StartStress) -> None:
    daemon = stress("daemon", "--rate", "100/s", "--duration", "10s", "--concurrency", "2")
    deadline = time.monotonic() + 10
    status = _status(daemon)
    while status["skipped"] < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
        status = _status(daemon)
    assert status["skipped"] >= 20
    assert status["patches"]["started"] == status["patches"]["in_flight"] == 2


def test_sigterm_past_the_grace_kills_command_patches(stress: StartStress, tmp_path: Path) -> None:
    daemon = stress(
        "daemon", "--rate", "20/s", "--concurrency", "3", "--grace", "300ms", "--json",
        "--shell", "--command", f"echo $$ > {tmp_path}/pid-$GHOST_PATCH_SEQ; exec sleep 30",
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while _status(daemon)["patches"]["in_flight"] < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    stopping = time.monotonic()
    daemon.process.send_signal(signal.SIGTERM)
    code, summary, err = daemon.summary(timeout=15)
    assert code == 0, err
    assert time.monotonic() - stopping < 5
    assert (summary["total"], summary["failed"], summary["completed"]) == (3, 3, 0)
    pids = [int(path.read_text()) for path in tmp_path.glob("pid-*")]
    assert len(pids) == 3
    assert wait_gone(pids) == []
