"""ghost-demo's ``failing`` fault of ``stress``: a patch-failure burst of a ghost-stress daemon."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import cli, stop_process, wait_for_file

from .conftest import DemoProcess


@pytest.fixture
def daemon_url(tmp_path: Path) -> Iterator[str]:
    """A ghost-stress daemon with --control, failing nothing by itself."""
    port_file = tmp_path / "stress.port"
    argv = [cli("ghost-stress"), "daemon", "--rate=20/s", "--duration=0s", "--failure-rate=0"]
    argv += ["--control", "--listen=127.0.0.1:0", f"--port-file={port_file}"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port = int(wait_for_file(port_file, proc))
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)


def _daemon_state(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/-/failure-rate", timeout=5) as response:
        state: dict[str, Any] = json.load(response)
    return state


def test_failing_fault_runs_a_burst_on_the_daemon_and_heals(
    own_demo: Callable[..., DemoProcess], daemon_url: str
) -> None:
    demo = own_demo(f"--stress-url={daemon_url}")

    answer = demo.control("POST", "/-/fault/stress", {"mode": "failing"})
    assert answer["service"] == "stress"
    assert answer["mode"] == "failing"
    assert answer["failure_rate"] == 0.5  # the default burst: half the patches, 5 minutes
    assert _daemon_state(daemon_url)["failure_rate"] == 0.5
    assert _daemon_state(daemon_url)["until"] is not None

    answer = demo.control(
        "POST", "/-/fault/stress", {"mode": "failing", "failure_rate": 1, "for": "1m"}
    )
    assert answer["failure_rate"] == 1.0
    assert _daemon_state(daemon_url)["failure_rate"] == 1.0

    # The daemon's bounds come back as a 400 with its reason.
    answer = demo.control("POST", "/-/fault/stress", {"mode": "failing", "for": "2h"})
    assert answer["http_status"] == 400
    assert "at most" in answer["error"]
    assert demo.control("POST", "/-/fault/stress", {"mode": "slow"})["http_status"] == 400

    answer = demo.control("DELETE", "/-/fault/stress")
    assert (answer["mode"], answer["failure_rate"], answer["until"]) == ("healthy", 0.0, None)
    assert _daemon_state(daemon_url) == {
        "failure_rate": 0.0,
        "base_failure_rate": 0.0,
        "until": None,
    }


def test_without_stress_url_stress_is_not_a_service(own_demo: Callable[..., DemoProcess]) -> None:
    demo = own_demo()
    answer = demo.control("POST", "/-/fault/stress", {"mode": "failing"})
    assert answer["http_status"] == 404
