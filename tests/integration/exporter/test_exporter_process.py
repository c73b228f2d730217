"""ghost-exporter as a real subprocess: scrape, promtool, /probe, reloads, signals, CLI codes."""

from __future__ import annotations

import re
import signal
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.integration.exporter.conftest import health_app
from tests.support import (
    Running,
    ThreadedServer,
    assert_promtool_accepts,
    cli,
    run_exporter,
    wait_until,
)


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

        assert_promtool_accepts(text)

        status, probed = exporter.get("/probe?target=alpha")
        assert status == 200
        assert _up(probed, "alpha") == "1.0"
        assert 'service="beta"' not in probed
        # The counters of /probe answers accumulate over requests, as those of /metrics do.
        assert 'ghost_probes_total{service="alpha",tier="core"} 1.0' in probed
        assert 'ghost_probe_duration_seconds_count{service="alpha",tier="core"} 1.0' in probed
        probed = exporter.get("/probe?target=alpha")[1]
        assert 'ghost_probes_total{service="alpha",tier="core"} 2.0' in probed
        assert 'ghost_probe_duration_seconds_count{service="alpha",tier="core"} 2.0' in probed
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

        # An unset !env is an error at its key path, and the old config keeps running too.
        config.write_text(
            "services:\n  - name: alpha\n    http:\n      url: http://h/\n"
            "      headers: {X-Key: !env GHOST_TEST_UNSET_VARIABLE}\n"
        )
        status, body = exporter.post("/-/reload")
        assert status == 500
        assert f"{config}:5: services[0].http.headers.X-Key: environment variable" in body
        assert _up(exporter.get("/metrics")[1], "beta") == "1.0"

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


class _RotatingServerTLS:
    """A server TLS context whose certificate and trusted client CA can be swapped: each new
    connection switches to the current context (in the SNI callback, which runs for every
    handshake)."""

    def __init__(self, server_ca: trustme.CA, client_ca: trustme.CA) -> None:
        self.current = self.make(server_ca, client_ca)
        self.context = self.make(server_ca, client_ca)
        self.context.sni_callback = self._switch

    @staticmethod
    def make(server_ca: trustme.CA, client_ca: trustme.CA) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ca.issue_cert("127.0.0.1").configure_cert(ctx)
        client_ca.configure_trust(ctx)
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    def _switch(self, ssl_object: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
        ssl_object.context = self.current


def _failure_reason(text: str) -> str | None:
    match = re.search(r'^ghost_probe_failures_total{service="secure",reason="(\w+)"} 1', text, re.M)
    return match.group(1) if match else None


def _up_secure(text: str) -> str | None:
    match = re.search(r'^ghost_service_up{service="secure"} (\S+)$', text, re.M)
    return match.group(1) if match else None


def _probe_up(exporter: Running) -> str | None:
    return _up_secure(exporter.get("/probe?target=secure")[1])


def test_reload_reads_rotated_ca_and_client_certificate(tmp_path: Path) -> None:
    """The config text never changes: a reload alone makes the probes read ca_file, cert_file
    and key_file again."""
    server_ca_1, server_ca_2 = trustme.CA(), trustme.CA()
    client_ca_1, client_ca_2 = trustme.CA(), trustme.CA()
    ca_file, cert_file, key_file = (tmp_path / n for n in ("ca.pem", "client.pem", "key.pem"))

    def client_files(client_ca: trustme.CA) -> None:
        client = client_ca.issue_cert("ghost-exporter.test")
        client.cert_chain_pems[0].write_to_path(str(cert_file))
        client.private_key_pem.write_to_path(str(key_file))

    server_ca_1.cert_pem.write_to_path(str(ca_file))
    client_files(client_ca_1)
    tls = _RotatingServerTLS(server_ca_1, client_ca_1)
    config = tmp_path / "ghost.yml"
    with ThreadedServer(health_app(), tls.context) as server:
        config.write_text(
            "defaults: {interval: 2s, timeout: 2s}\nservices:\n  - name: secure\n"
            f"    http:\n      url: '{server.url}/health'\n      health_field: status\n"
            f"      tls_config: {{ca_file: '{ca_file}', cert_file: '{cert_file}', "
            f"key_file: '{key_file}'}}\n"
        )
        with run_exporter(config, tmp_path) as exporter:
            assert _probe_up(exporter) == "1.0"

            # The server now presents a certificate of CA 2; ca.pem is rotated to CA 2.
            tls.current = tls.make(server_ca_2, client_ca_1)
            server_ca_2.cert_pem.write_to_path(str(ca_file))
            text = exporter.get("/probe?target=secure")[1]
            assert _failure_reason(text) == "tls", text
            assert exporter.post("/-/reload")[0] == 200
            assert _probe_up(exporter) == "1.0"

            # The server now trusts client CA 2 only; the client certificate and key rotate.
            tls.current = tls.make(server_ca_2, client_ca_2)
            client_files(client_ca_2)
            assert _probe_up(exporter) == "0.0"
            assert exporter.post("/-/reload")[0] == 200
            assert _probe_up(exporter) == "1.0"
            wait_until(lambda: _up_secure(exporter.get("/metrics")[1]) == "1.0")
