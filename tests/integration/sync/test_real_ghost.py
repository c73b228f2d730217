"""Reporter and pipeline against the real ghost: ``ghost-demo`` (status-api and its faults) and
a ``ghost-stress daemon`` reporting to it, checked with ``ghost-exporter check --sync-log``."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.demo.conftest import DemoProcess, start_demo, stop_demo
from tests.support import cli, run_process

DEADLINE = 1.0


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[DemoProcess, int]]:
    demo = start_demo(tmp_path)
    try:
        port_file = tmp_path / "stress.port"
        argv = [
            sys.executable, "-m", "ghost_stress.cli", "daemon", "--rate", "1/h",
            "--duration", "0", "--listen", "127.0.0.1:0", "--port-file", str(port_file),
            "--report-to", demo.url("status-api", "/api/patches"),
        ]  # fmt: skip
        with run_process(argv, tmp_path, "stress", port_file) as (_, port):
            yield demo, int(port)
    finally:
        stop_demo(demo.process)


def _config(demo: DemoProcess, stress_port: int) -> str:
    services = []
    for name in ("dual-monitor", "telemetry-api"):
        services.append(
            f"  - name: {name}\n"
            f"    http: {{url: '{demo.url(name, '/health')}', health_field: status}}\n"
        )
    status = demo.url("status-api", "/api/services/status")
    own = "services.status-api.status"
    services.append(f"  - name: status-api\n    http: {{url: '{status}', health_field: {own}}}\n")
    return (
        "defaults: {interval: 5s, timeout: 2s}\nservices:\n"
        + "".join(services)
        + f"reporters:\n  - name: ghost-status\n    http: {{url: '{status}'}}\n"
        + "pipelines:\n  - name: patch-events\n"
        + f"    deadline: {int(DEADLINE * 1000)}ms\n"
        + "    emit:\n"
        + f"      http: {{url: 'http://127.0.0.1:{stress_port}/api/canary', "
        + """body: '{"id": "{{canary}}"}'}\n"""
        + "    observe:\n"
        + f"      - {{name: status-ws, websocket: {{url: '{demo.ws_url('status-api')}'}}}}\n"
        + "      - name: status-rest\n"
        + f"        http: {{url: '{demo.url('status-api', '/api/patches?limit=100')}', "
        + "poll: 100ms}\n"
    )


def _check(config: Path, log: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [cli("ghost-exporter"), "check", f"--config.file={config}", f"--sync-log={log}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_check_against_the_real_stress_daemon_and_status_api(
    stack: tuple[DemoProcess, int], tmp_path: Path
) -> None:
    demo, stress_port = stack
    config = tmp_path / "ghost.yml"
    config.write_text(_config(demo, stress_port))
    log = tmp_path / "monitor-sync.log"

    ok = _check(config, log)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert re.search(r"status-ws: delivered \d+ ms", ok.stdout), ok.stdout

    demo.control("POST", "/-/fault/status-api", {"mode": "frozen"})
    demo.control("POST", "/-/fault/dual-monitor", {"mode": "down"})
    frozen = _check(config, log)
    assert frozen.returncode == 1
    assert "dual-monitor claims healthy, probe saw unhealthy" in frozen.stdout
    demo.heal_all()

    demo.control("POST", "/-/fault/status-api", {"mode": "lagging", "delay": 1.5 * DEADLINE})
    late = _check(config, log)
    assert late.returncode == 1
    demo.heal_all()

    demo.control("POST", "/-/fault/status-api", {"mode": "dropping"})
    dropped = _check(config, log)
    assert dropped.returncode == 1
    assert "status-ws: lost" in dropped.stdout
    demo.heal_all()

    verdicts = [line.split(" ", 5)[1:] for line in log.read_text().splitlines()]
    counts = ["services=3", "reporters=1", "pipelines=1"]
    assert verdicts == [
        ["SYNC", "SUCCESS", *counts],
        ["SYNC", "FAILURE", *counts[:2], "pipelines=1 out_of_sync=ghost-status/dual-monitor"],
        [
            "SYNC",
            "FAILURE",
            *counts[:2],
            "pipelines=1 late=patch-events/status-ws,patch-events/status-rest",
        ],
        [
            "SYNC",
            "FAILURE",
            *counts[:2],
            "pipelines=1 lost=patch-events/status-ws,patch-events/status-rest",
        ],
    ]
