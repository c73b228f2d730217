"""ghost-remediate as a process: a hanging command is killed with its process group, a failed
verification is a failure, SIGTERM stops it quickly, SIGHUP reloads, TLS with client
certificates, and its /metrics pass promtool."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import trustme

from tests.support import require_tool, wait_until
from tests.unit.remediate.payloads import alert, notification

from .conftest import TOKEN, FakeService, Launcher, http_rule, push_alerts, remediate_yaml


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    # Members may remain as zombies until their reaper collects them.
    return not any(
        alive(int(p)) for p in os.listdir("/proc") if p.isdigit() and _pgid(int(p)) == pgid
    )


def _pgid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rpartition(")")[2].split()[2])
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return None


def command_rule(pid_file: Path, timeout: str = "1s") -> str:
    script = f"sleep 60 & echo $$ $! > {pid_file}; wait"
    return f"""\
  - name: restart-dual-monitor
    match: {{service: dual-monitor}}
    match_re: {{alertname: GhostServiceUnhealthy}}
    verify: false
    action:
      command:
        argv: [/bin/sh, -c, '{script}']
        timeout: {timeout}
        kill_grace: 200ms
"""


def test_a_hanging_command_is_killed_with_its_group_and_fails(
    launch: Launcher, fake: tuple[FakeService, str], tmp_path: Path
) -> None:
    _, target = fake
    pids = tmp_path / "pids"
    remediate = launch.remediate(remediate_yaml(target, command_rule(pids)))
    start = time.monotonic()
    status, body = remediate.post(notification(alert()))
    assert time.monotonic() - start < 0.5  # answered at once, the command runs in background
    assert status == 200
    assert json.loads(body)["decisions"][0]["result"] == "started"
    [failed] = remediate.wait_for_audit("failed")
    shell, child = (int(p) for p in pids.read_text().split())
    assert failed["detail"] == f"action: timed out after 1s: process group {shell} killed"
    assert failed["ran"] == f"/bin/sh -c 'sleep 60 & echo $$ $! > {pids}; wait'"
    assert 1.0 <= failed["duration_seconds"] < 3
    wait_until(lambda: group_gone(shell), timeout=5)
    assert not alive(child)
    assert remediate.count("failed") == 1


def test_a_verification_that_times_out_is_a_failure(
    launch: Launcher, fake: tuple[FakeService, str]
) -> None:
    service, target = fake
    service.restart_heals = False  # the restart works, the service stays unhealthy
    remediate = launch.remediate(remediate_yaml(target, http_rule(target, verify_timeout="1s")))
    remediate.post(notification(alert()))
    [failed] = remediate.wait_for_audit("failed")
    assert service.restarts == ["dual-monitor"]
    assert failed["detail"].endswith(
        "not up and healthy within 1s (last: ghost_service_up=1 health=unhealthy)"
    )
    assert remediate.count("failed") == 1
    assert remediate.count("succeeded") == 0


def test_sigterm_stops_within_two_seconds_and_kills_running_commands(
    launch: Launcher, fake: tuple[FakeService, str], tmp_path: Path
) -> None:
    _, target = fake
    pids = tmp_path / "pids"
    remediate = launch.remediate(remediate_yaml(target, command_rule(pids, timeout="60s")))
    remediate.post(notification(alert()))
    wait_until(lambda: pids.exists() and pids.read_text().strip(), timeout=10)
    shell, child = (int(p) for p in pids.read_text().split())
    start = time.monotonic()
    remediate.proc.send_signal(signal.SIGTERM)
    assert remediate.proc.wait(5) == 0
    assert time.monotonic() - start < 2
    wait_until(lambda: group_gone(shell), timeout=5)
    assert not alive(child)
    assert remediate.audit("failed")[0]["detail"] == "cancelled at shutdown"


def test_sighup_reloads_and_keeps_a_good_config_over_a_bad_one(
    launch: Launcher, fake: tuple[FakeService, str], tmp_path: Path
) -> None:
    _, target = fake
    remediate = launch.remediate(remediate_yaml(target, http_rule(target)))
    config = tmp_path / "remediate.yml"
    config.write_text(config.read_text().replace("restart-dual-monitor", "renamed"))
    remediate.proc.send_signal(signal.SIGHUP)

    def index() -> str:
        with urllib.request.urlopen(remediate.url + "/", timeout=5) as response:
            text: str = response.read().decode()
            return text

    wait_until(lambda: "1 rules: renamed" in index(), timeout=10)
    config.write_text("rules: [\n")
    remediate.proc.send_signal(signal.SIGHUP)
    wait_until(
        lambda: "ghost_remediate_config_last_reload_successful 0.0" in remediate.metrics(),
        timeout=10,
    )
    assert "1 rules: renamed" in index()
    [refusal] = [line for line in remediate.lines() if line.get("msg") == "config reload refused"]
    assert refusal["error"].startswith(f"{config}:2: invalid YAML:")


def test_metrics_pass_promtool(
    launch: Launcher, fake: tuple[FakeService, str], tmp_path: Path
) -> None:
    _, target = fake
    remediate = launch.remediate(remediate_yaml(target, http_rule(target)))
    remediate.post(notification(alert(service="a;b")))
    remediate.post(notification(alert(fingerprint="other")))
    remediate.wait_for_audit("succeeded")
    text = remediate.metrics()
    assert 'ghost_remediation_duration_seconds_bucket{action="restart-dual-monitor"' in text
    done = subprocess.run(
        [require_tool("promtool"), "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


@pytest.fixture
def tls_files(tmp_path: Path) -> Path:
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    server.cert_chain_pems[0].write_to_path(str(tmp_path / "server.crt"))
    server.private_key_pem.write_to_path(str(tmp_path / "server.key"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.crt"))
    client = ca.issue_cert("alertmanager")
    client.cert_chain_pems[0].write_to_path(str(tmp_path / "client.crt"))
    client.private_key_pem.write_to_path(str(tmp_path / "client.key"))
    (tmp_path / "web.yml").write_text(
        "tls_server_config:\n"
        "  cert_file: server.crt\n"
        "  key_file: server.key\n"
        "  client_ca_file: ca.crt\n"
        "  client_auth_type: RequireAndVerifyClientCert\n"
        "  min_version: TLS12\n"
    )
    return tmp_path


def test_tls_with_client_certificates_from_alertmanager(
    launch: Launcher, fake: tuple[FakeService, str], tls_files: Path
) -> None:
    service, target = fake
    tmp = tls_files
    token = tmp / "token"
    token.write_text(TOKEN)
    remediate = launch.remediate(
        remediate_yaml(target, http_rule(target)),
        extra=[f"--web.config.file={tmp / 'web.yml'}"],
        scheme="https",
    )
    # Without a client certificate, or over plain HTTP, nothing gets through.
    no_cert = ssl.create_default_context(cafile=str(tmp / "ca.crt"))
    with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
        urllib.request.urlopen(remediate.url + "/-/healthy", timeout=5, context=no_cert)
    plain = remediate.url.replace("https://", "http://")
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(plain + "/-/healthy", timeout=5)

    alertmanager = launch.alertmanager(
        {
            "url": remediate.url + "/webhook",
            "http_config": {
                "authorization": {"type": "Bearer", "credentials_file": str(token)},
                "tls_config": {
                    "ca_file": str(tmp / "ca.crt"),
                    "cert_file": str(tmp / "client.crt"),
                    "key_file": str(tmp / "client.key"),
                },
            },
        }
    )
    push_alerts(
        alertmanager,
        {"alertname": "GhostServiceDown", "severity": "critical", "service": "dual-monitor"},
    )
    remediate.wait_for_audit("succeeded")
    assert service.restarts == ["dual-monitor"]


def test_validate_checks_the_web_config_too(tmp_path: Path, fake: tuple[FakeService, str]) -> None:
    from tests.support import cli

    _, target = fake
    config = tmp_path / "r.yml"
    config.write_text(remediate_yaml(target, http_rule(target)))
    web = tmp_path / "web.yml"
    web.write_text("tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n")
    done = subprocess.run(
        [cli("ghost-remediate"), "validate", f"--config.file={config}", f"--web.config.file={web}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == (
        f"invalid configuration:\n{web}:2: tls_server_config.cert_file: cannot read "
        f"{tmp_path / 'nope.crt'}\n"
    )
