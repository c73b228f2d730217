"""ghost-exporter as a real subprocess: scrape, promtool, /probe, reloads, signals, CLI codes."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.exporter.conftest import health_app
from tests.support import ThreadedServer, cli, require_tool, run_exporter, wait_until


@pytest.fixture(scope="module")
def targets() -> Iterator[str]:
    with ThreadedServer(health_app()) as server:
        yield server.url


def _config(base: str, names: list[str], state: str = "healthy") -> str:
    lines = ["defaults: {interval: 300ms, timeout: 250ms}", "services:"]
    for name in names:
        lines += [
            f"  - name: {name}",
            "    labels: {tier: core}",
            f"    http: {{url: '{base}/health?state={state}', health_field: status}}",
        ]
    return "\n".join(lines) + "\n"


def _up(text: str, name: str) -> str | None:
    match = re.search(rf'^ghost_service_up{{service="{name}",tier="core"}} (\S+)$', text, re.M)
    return match.group(1) if match else None


def test_scrape_probe_reload_and_shutdown(targets: str, tmp_path: Path) -> None:
    config = tmp_path / "ghost.yml"
    config.write_text(_config(targets, ["alpha", "beta"]))
    with run_exporter(config, tmp_path) as exporter:
        wait_until(lambda: all(_up(exporter.get("/metrics")[1], n) for n in ("alpha", "beta")))
        status, text = exporter.get("/metrics")
        assert status == 200
        assert _up(text, "alpha") == "1.0"
        assert "ghost_exporter_build_info{" in text
        assert "ghost_exporter_config_last_reload_successful 1.0" in text
        assert "process_resident_memory_bytes" in text
        assert 'ghost_exporter_targets{kind="http"} 2.0' in text

        promtool = require_tool("promtool")
        checked = subprocess.run(
            [promtool, "check", "metrics"], input=text.encode(), capture_output=True, check=False
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout.decode() + checked.stderr.decode() == ""

        status, probed = exporter.get("/probe?target=alpha")
        assert status == 200
        assert _up(probed, "alpha") == "1.0"
        assert 'service="beta"' not in probed
        assert exporter.get(f"/probe?target={targets}/health")[0] == 404
        assert exporter.get("/probe?target=nope")[0] == 404
        assert exporter.get("/probe")[0] == 400

        assert exporter.get("/-/healthy")[0] == 200
        assert exporter.get("/-/ready")[0] == 200
        status, page = exporter.get("/")
        assert status == 200
        assert "alpha" in page
        assert "/metrics" in page

        config.write_text("services:\n  - name: alpha\n    http: {url: 'ftp://x/'}\n")
        status, body = exporter.post("/-/reload")
        assert status == 500
        assert f"{config}:3: services[0].http.url" in body
        text = exporter.get("/metrics")[1]
        assert "ghost_exporter_config_last_reload_successful 0.0" in text
        assert _up(text, "beta") == "1.0"

        config.write_text(_config(targets, ["alpha"]))
        assert exporter.post("/-/reload")[0] == 200
        text = exporter.get("/metrics")[1]
        assert 'service="beta"' not in text
        assert "ghost_exporter_config_last_reload_successful 1.0" in text

        config.write_text(_config(targets, ["alpha", "gamma"], state="degraded"))
        exporter.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: _up(exporter.get("/metrics")[1], "gamma") == "1.0")
        health = exporter.get("/metrics")[1]
        assert 'ghost_service_health{service="gamma",tier="core",state="degraded"} 1.0' in health

        start = time.monotonic()
        exporter.proc.send_signal(signal.SIGTERM)
        assert exporter.proc.wait(10) == 0
        stopped_after = time.monotonic() - start
        assert stopped_after < 10
    log = exporter.log.read_text()
    assert "config reload refused" in log
    assert "level=info" in log


def test_failing_target_is_logged_once(targets: str, tmp_path: Path) -> None:
    config = tmp_path / "ghost.yml"
    config.write_text(_config(targets, ["sick"], state="unhealthy"))
    with run_exporter(config, tmp_path, ["--log.format=json"]) as exporter:
        wait_until(
            lambda: (
                'ghost_probes_total{service="sick",tier="core"} 4.0' in exporter.get("/metrics")[1]
                or _count(exporter.get("/metrics")[1]) >= 4
            )
        )
    lines = [line for line in exporter.log.read_text().splitlines() if "target is failing" in line]
    assert len(lines) == 1
    assert '"reason": "health"' in lines[0]


def _count(text: str) -> float:
    match = re.search(r'^ghost_probes_total{service="sick",tier="core"} (\S+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


def test_validate_exit_codes(tmp_path: Path) -> None:
    good = tmp_path / "good.yml"
    good.write_text("services:\n  - name: a\n    tcp: {address: '127.0.0.1:1'}\n")
    ok = subprocess.run(
        [cli("ghost-exporter"), "validate", f"--config.file={good}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    bad = tmp_path / "bad.yml"
    bad.write_text("services:\n  - name: a\n    tcp: {adress: '127.0.0.1:1'}\n")
    refused = subprocess.run(
        [cli("ghost-exporter"), "validate", f"--config.file={bad}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2
    assert f"{bad}:3: services[0].tcp.adress: unknown key" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_check_exit_codes(targets: str, tmp_path: Path) -> None:
    healthy = tmp_path / "healthy.yml"
    healthy.write_text(_config(targets, ["one", "two"]))
    ok = subprocess.run(
        [cli("ghost-exporter"), "check", f"--config.file={healthy}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "one" in ok.stdout
    assert "two" in ok.stdout
    sick = tmp_path / "sick.yml"
    sick.write_text(_config(targets, ["one"], state="unhealthy"))
    failing = subprocess.run(
        [cli("ghost-exporter"), "check", f"--config.file={sick}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert failing.returncode == 1
    assert "health is unhealthy" in failing.stdout
    bad = subprocess.run(
        [cli("ghost-exporter"), "check", f"--config.file={tmp_path / 'missing.yml'}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
