"""``ghost-stress daemon`` as a real process: rate, status reads, clean stop on SIGTERM."""

from __future__ import annotations

import json
import signal
import time
import urllib.error
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


def _burst(daemon: Stress, method: str, body: object = None) -> tuple[int, dict[str, Any]]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(daemon.url("/-/failure-rate"), data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        text = exc.read()
        return exc.code, json.loads(text) if text.startswith(b"{") else {"text": text.decode()}


def _failed_within(daemon: Stress, seconds: float) -> tuple[int, int]:
    """Patches (finished, failed) over ``seconds`` from now."""
    before = _status(daemon)["patches"]
    time.sleep(seconds)
    after = _status(daemon)["patches"]
    finished = sum(after[k] - before[k] for k in ("completed", "failed", "timeout"))
    return finished, after["failed"] - before["failed"]


def test_control_runs_a_bounded_failure_burst_that_ends_by_itself(stress: StartStress) -> None:
    daemon = stress(
        "daemon", "--rate", "50/s", "--duration", "0s", "--failure-rate", "0", "--control",
    )  # fmt: skip
    status, state = _burst(daemon, "GET")
    assert (status, state) == (200, {"failure_rate": 0.0, "base_failure_rate": 0.0, "until": None})

    for bad in (
        {"failure_rate": 1.5},
        {"failure_rate": True},
        {"failure_rate": 0.5, "for": "2h"},
        {"failure_rate": 0.5, "for": 0},
        {"failure_rate": 0.5, "for": "30"},
        {"failure_rate": 0.5, "colour": "red"},
        [0.5],
    ):
        status, answer = _burst(daemon, "POST", bad)
        assert status == 400, bad
        assert answer["error"], bad
    assert _burst(daemon, "GET")[1]["failure_rate"] == 0.0

    status, state = _burst(daemon, "POST", {"failure_rate": 1, "for": "3s"})
    assert status == 200
    assert state["failure_rate"] == 1.0
    assert state["base_failure_rate"] == 0.0
    assert state["until"] > time.time()
    finished, failed = _failed_within(daemon, 1.0)
    assert finished > 0
    assert failed == finished  # every patch of the burst fails

    deadline = time.monotonic() + 10
    while _burst(daemon, "GET")[1]["until"] is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _burst(daemon, "GET")[1] == {
        "failure_rate": 0.0,
        "base_failure_rate": 0.0,
        "until": None,
    }
    finished, failed = _failed_within(daemon, 0.5)
    assert finished > 0
    assert failed == 0

    assert _burst(daemon, "POST", {"failure_rate": 1, "for": "1h"})[0] == 200
    status, state = _burst(daemon, "DELETE")
    assert (status, state["failure_rate"], state["until"]) == (200, 0.0, None)


def test_without_control_there_is_no_failure_rate_endpoint(stress: StartStress) -> None:
    daemon = stress("daemon", "--rate", "5/s")
    assert _burst(daemon, "POST", {"failure_rate": 1})[0] == 404
