"""The exporter against the real stress daemon and demo services, all as subprocesses."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Running, cli, free_port, run_exporter, run_process, wait_until


def _json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        data = json.loads(resp.read())
    assert isinstance(data, dict)
    return data


def _samples(text: str, name: str) -> dict[str, float]:
    """``{labels: value}`` of every sample called ``name``."""
    return {
        m.group(1): float(m.group(2))
        for m in re.finditer(rf"^{name}{{([^}}]*)}} (\S+)$", text, re.M)
    }


def _daemon_config(tmp: Path, port: int) -> Path:
    config = tmp / "ghost.yml"
    config.write_text(
        "defaults: {interval: 200ms, timeout: 150ms}\n"
        f"daemons:\n  - name: stress\n    url: http://127.0.0.1:{port}\n"
    )
    return config


def test_patch_metrics_mirror_the_daemon_status(tmp_path: Path) -> None:
    port_file = tmp_path / "stress.port"
    argv = [
        cli("ghost-stress"),
        "run",
        "--patches=300",
        "--concurrency=16",
        "--duration=0ms-5ms",
        "--failure-rate=0.2",
        "--seed=7",
        "--listen=127.0.0.1:0",
        f"--port-file={port_file}",
        "--linger=120s",
        "--json",
    ]
    with run_process(argv, tmp_path, "stress", port_file) as (_, port):
        status_url = f"http://127.0.0.1:{port}/api/status"

        def finished() -> bool:
            patches = _json(status_url)["patches"]
            assert isinstance(patches, dict)
            return patches["completed"] + patches["failed"] + patches["timeout"] == 300

        wait_until(finished, timeout=60)
        status = _json(status_url)
        with run_exporter(_daemon_config(tmp_path, int(port)), tmp_path) as exporter:
            wait_until(lambda: "ghost_daemon_up" in exporter.get("/metrics")[1])
            text = exporter.get("/metrics")[1]
    patches = status["patches"]
    assert isinstance(patches, dict)
    totals = _samples(text, "ghost_patches_total")
    for outcome in ("completed", "failed", "timeout"):
        assert totals[f'daemon="stress",outcome="{outcome}"'] == patches[outcome]
    assert patches["failed"] > 0
    assert _samples(text, "ghost_daemon_up") == {'daemon="stress"': 1.0}
    assert _samples(text, "ghost_patches_in_flight") == {'daemon="stress"': 0.0}
    histogram = status["duration_seconds"]
    assert isinstance(histogram, dict)
    buckets = _samples(text, "ghost_patch_duration_seconds_bucket")
    assert len(buckets) == len(histogram["buckets"])
    for le, count in histogram["buckets"].items():
        assert buckets[f'daemon="stress",le="{_le(le)}"'] == count
    count = _samples(text, "ghost_patch_duration_seconds_count")
    assert count == {'daemon="stress"': histogram["count"]}
    start = _samples(text, "ghost_daemon_start_time_seconds")
    assert start == {'daemon="stress"': status["started_at"]}


def _le(key: str) -> str:
    return "+Inf" if key == "+Inf" else repr(float(key))


def test_daemon_restart_is_a_counter_reset_with_a_new_start_time(tmp_path: Path) -> None:
    port = free_port()
    argv = [
        cli("ghost-stress"),
        "daemon",
        "--rate=50/s",
        "--duration=1ms-5ms",
        f"--listen=127.0.0.1:{port}",
        f"--port-file={tmp_path / 'stress.port'}",
    ]
    with run_exporter(_daemon_config(tmp_path, port), tmp_path) as exporter:

        def metric(name: str) -> float | None:
            return _samples(exporter.get("/metrics")[1], name).get('daemon="stress"')

        with run_process(argv, tmp_path, "stress-1", tmp_path / "stress.port"):
            wait_until(lambda: (_completed(exporter) or 0) >= 20)
            first_start = metric("ghost_daemon_start_time_seconds")
            before = _completed(exporter)
        (tmp_path / "stress.port").unlink()
        wait_until(lambda: metric("ghost_daemon_up") == 0.0)
        assert "ghost_patches_total" not in exporter.get("/metrics")[1]
        with run_process(argv, tmp_path, "stress-2", tmp_path / "stress.port"):
            wait_until(lambda: metric("ghost_daemon_up") == 1.0)
            second_start = metric("ghost_daemon_start_time_seconds")
            after = _completed(exporter)
    assert first_start is not None
    assert second_start is not None
    assert second_start > first_start
    assert before is not None
    assert after is not None
    assert after < before


def _completed(exporter: Running) -> float | None:
    return _samples(exporter.get("/metrics")[1], "ghost_patches_total").get(
        'daemon="stress",outcome="completed"'
    )


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[dict[str, int]]:
    port_file = tmp_path / "demo.json"
    argv = [
        cli("ghost-demo"),
        "--base-port=0",
        f"--port-file={port_file}",
        "--slow-delay=2s",
        "--telemetry-interval=200ms",
    ]
    with run_process(argv, tmp_path, "demo", port_file) as (_, content):
        yield json.loads(content)


def _demo_config(tmp: Path, ports: dict[str, int]) -> Path:
    config = tmp / "demo-ghost.yml"
    config.write_text(
        "defaults: {interval: 250ms, timeout: 200ms}\n"
        "services:\n"
        "  - name: dual-monitor\n"
        f"    http: {{url: 'http://127.0.0.1:{ports['dual-monitor']}/health', "
        "health_field: status}\n"
        "  - name: telemetry-ws\n"
        f"    websocket: {{url: 'ws://127.0.0.1:{ports['telemetry-api']}/ws', "
        "timestamp_field: ts}\n"
    )
    return config


def _fault(ports: dict[str, int], service: str, mode: str | None) -> None:
    url = f"http://127.0.0.1:{ports['control']}/-/fault/{service}"
    if mode is None:
        request = urllib.request.Request(url, method="DELETE")
    else:
        body = json.dumps({"mode": mode}).encode()
        request = urllib.request.Request(url, data=body, method="POST")
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 200


FAULTS = [
    (
        "dual-monitor",
        "degraded",
        'ghost_service_health{service="dual-monitor",state="degraded"}',
    ),
    (
        "dual-monitor",
        "unhealthy",
        'ghost_service_health{service="dual-monitor",state="unhealthy"}',
    ),
    ("dual-monitor", "down", 'ghost_probe_failures_total{service="dual-monitor",reason="connect"}'),
    ("dual-monitor", "slow", 'ghost_probe_failures_total{service="dual-monitor",reason="timeout"}'),
    ("dual-monitor", "error", 'ghost_probe_http_status_code{service="dual-monitor"} 500.0'),
    ("telemetry-api", "stale", "ghost_websocket_message_lag_seconds"),
]


def test_each_demo_fault_changes_what_the_exporter_reports(
    demo: dict[str, int], tmp_path: Path
) -> None:
    with run_exporter(_demo_config(tmp_path, demo), tmp_path) as exporter:

        def up(service: str) -> float | None:
            return _samples(exporter.get("/metrics")[1], "ghost_service_up").get(
                f'service="{service}"'
            )

        wait_until(lambda: up("dual-monitor") == 1.0 and up("telemetry-ws") == 1.0)
        for service, mode, evidence in FAULTS:
            _fault(demo, service, mode)
            if mode == "stale":
                wait_until(lambda: (_lag(exporter) or 0) > 30)
            elif mode == "degraded":
                wait_until(lambda ev=evidence: _positive(exporter.get("/metrics")[1], ev))
                assert up("dual-monitor") == 1.0
            else:
                wait_until(lambda ev=evidence: _positive(exporter.get("/metrics")[1], ev))
                wait_until(lambda: up("dual-monitor") == 0.0)
            _fault(demo, service, None)
            wait_until(lambda: up("dual-monitor") == 1.0 and (_lag(exporter) or 99) < 5)


def _positive(text: str, evidence: str) -> bool:
    """A sample line starting with ``evidence`` (name, labels and maybe the value) is > 0."""
    for line in text.splitlines():
        if line.startswith(evidence):
            return float(line.rsplit(" ", 1)[1]) > 0
    return False


def _lag(exporter: Running) -> float | None:
    return _samples(exporter.get("/metrics")[1], "ghost_websocket_message_lag_seconds").get(
        'service="telemetry-ws"'
    )
