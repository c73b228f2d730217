"""amtool on alerts/alertmanager.yml, and inhibition in a real Alertmanager on loopback."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import ALERTS_DIR, Servers, expect_success, free_port, run_tool

CONFIG = ALERTS_DIR / "alertmanager.yml"


def _generated_alerts() -> list[tuple[str, str]]:
    document = yaml.safe_load((ALERTS_DIR / "ghost-alerts.yml").read_text(encoding="utf-8"))
    return sorted(
        {
            (rule["alert"], rule["labels"]["severity"])
            for group in document["groups"]
            for rule in group["rules"]
        }
    )


def test_amtool_check_config() -> None:
    result = expect_success("amtool", "check-config", str(CONFIG))
    assert "SUCCESS" in result.stdout, result.report()
    assert "3 inhibit rules" in result.stdout, result.report()
    assert "3 receivers" in result.stdout, result.report()


def _labels(alertname: str, severity: str | None = None, **labels: str) -> dict[str, str]:
    base = {"alertname": alertname} | ({"severity": severity} if severity else {})
    return base | labels


#: Alerts ghost-remediate may act on go to it first, then on to the receiver of their severity.
REMEDIATED = ("GhostServiceDown", "GhostServiceUnhealthy")

ROUTES = [
    (
        _labels("GhostServiceDown", "critical", service="dual-monitor"),
        "ghost-remediate,ghost-critical",
    ),
    (
        _labels("GhostServiceUnhealthy", "critical", service="status-api"),
        "ghost-remediate,ghost-critical",
    ),
    (_labels("GhostRemediationFailing", "warning", service="dual-monitor"), "ghost-warning"),
    (_labels("GhostServiceDegraded", "warning", service="dual-monitor"), "ghost-warning"),
    (
        _labels("GhostPatchesStalled", "critical", daemon="stress", service="stress"),
        "ghost-critical",
    ),
    (_labels("GhostProbeLatencyHigh", "warning", service="status-api"), "ghost-warning"),
    (_labels("GhostTLSCertificateExpiring", "warning", service="telemetry-ws"), "ghost-warning"),
    # Monitor sync: a monitor out of sync and a lost canary page; a reporter down is a ticket.
    (
        _labels("GhostMonitorOutOfSync", "critical", reporter="status-api", service="dual-monitor"),
        "ghost-critical",
    ),
    (
        _labels("GhostReporterDown", "warning", reporter="status-api", service="status-api"),
        "ghost-warning",
    ),
    (
        _labels(
            "GhostPipelineCanaryLost", "critical", pipeline="patch-events", service="patch-events"
        ),
        "ghost-critical",
    ),
    (
        _labels(
            "GhostPipelineErrorBudgetBurn",
            "critical",
            pipeline="patch-events",
            service="patch-events",
        ),
        "ghost-critical",
    ),
    # No or another severity: the default route, so nothing is dropped.
    (_labels("Watchdog", "none"), "ghost-warning"),
    (_labels("SomethingElse"), "ghost-warning"),
    (_labels("SomethingElse", "Critical", service="x"), "ghost-warning"),
    # An alert ghost-remediate gets without a known severity still reaches someone.
    (_labels("GhostServiceDown", "Critical", service="x"), "ghost-remediate,ghost-warning"),
    (_labels("GhostServiceDown", service="dual-monitor"), "ghost-remediate,ghost-warning"),
]


def _route(labels: dict[str, str], receiver: str) -> None:
    pairs = [f"{key}={value}" for key, value in labels.items()]
    result = run_tool(
        "amtool",
        "config",
        "routes",
        "test",
        f"--config.file={CONFIG}",
        f"--verify.receivers={receiver}",
        *pairs,
    )
    assert result.returncode == 0, result.report()
    assert result.stdout.strip() == receiver, result.report()


@pytest.mark.parametrize(("labels", "receiver"), ROUTES, ids=[str(i) for i in range(len(ROUTES))])
def test_routing_table(labels: dict[str, str], receiver: str) -> None:
    _route(labels, receiver)


@pytest.mark.parametrize(("alertname", "severity"), _generated_alerts())
def test_every_generated_alert_reaches_the_receiver_of_its_severity(
    alertname: str, severity: str
) -> None:
    expected = f"ghost-{severity}"
    if alertname in REMEDIATED:
        expected = f"ghost-remediate,{expected}"
    _route({"alertname": alertname, "severity": severity, "service": "svc"}, expected)


def test_a_wrong_expectation_fails_with_amtools_message() -> None:
    result = run_tool(
        "amtool",
        "config",
        "routes",
        "test",
        f"--config.file={CONFIG}",
        "--verify.receivers=ghost-critical",
        "severity=warning",
    )
    assert result.returncode == 1
    assert "Expected receivers did not match resolved receivers" in result.stdout + result.stderr


def _alert(alertname: str, severity: str, service: str, **labels: str) -> dict[str, Any]:
    return {"labels": {"alertname": alertname, "severity": severity, "service": service, **labels}}


#: Alerts posted together, and whether Alertmanager must hold each one back.
INHIBITION = [
    (_alert("GhostServiceDown", "critical", "dual-monitor"), False),
    # A down service's warnings are held back; its other criticals are not.
    (_alert("GhostProbeLatencyHigh", "warning", "dual-monitor"), True),
    (_alert("GhostServiceDegraded", "warning", "dual-monitor"), True),
    (_alert("GhostServiceUnhealthy", "critical", "dual-monitor"), False),
    # Nor is the warning that its remediation failed.
    (_alert("GhostRemediationFailing", "warning", "dual-monitor", action="restart"), False),
    # Another service's warnings are not.
    (_alert("GhostProbeLatencyHigh", "warning", "status-api"), False),
    # A daemon that does not answer: its warnings are held back (service = daemon name).
    (_alert("GhostDaemonDown", "critical", "stress", daemon="stress"), False),
    (_alert("GhostPatchErrorBudgetBurn", "warning", "stress", daemon="stress"), True),
    # The critical tier of an alert holds back its warning tier, for the same service only.
    (_alert("GhostTLSCertificateExpiring", "critical", "telemetry-ws"), False),
    (_alert("GhostTLSCertificateExpiring", "warning", "telemetry-ws"), True),
    (_alert("GhostTLSCertificateExpiring", "warning", "telemetry-api"), False),
    # A monitor out of sync about a down service is a page of its own, never held back.
    (_alert("GhostMonitorOutOfSync", "critical", "dual-monitor", reporter="status-api"), False),
    # A lost canary holds back the burn alert of its own pipeline only.
    (_alert("GhostPipelineCanaryLost", "critical", "patch-events", observer="status-ws"), False),
    (_alert("GhostPipelineErrorBudgetBurn", "critical", "patch-events"), True),
    (_alert("GhostPipelineErrorBudgetBurn", "critical", "alerts-feed"), False),
]


def _request(url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        payload = response.read()
    return json.loads(payload) if payload else None


def test_alertmanager_inhibits_warnings_of_down_services(tmp_path: Path, servers: Servers) -> None:
    # The committed config, with the webhooks pointed at a closed loopback port so that no
    # notification of this test reaches a status-api running on this machine.
    text = CONFIG.read_text(encoding="utf-8")
    assert text.count("http://127.0.0.1:8789/") == 2
    assert text.count("http://127.0.0.1:9799/") == 1
    text = text.replace(":8789/", f":{free_port()}/").replace(":9799/", f":{free_port()}/")
    text = text.replace("../examples/", f"{ALERTS_DIR.parent / 'examples'}/")
    config = tmp_path / "alertmanager.yml"
    config.write_text(text, encoding="utf-8")

    server = servers.start(
        "prometheus-alertmanager",
        lambda port: [
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        "/-/ready",
    )
    _request(f"{server.url}/api/v2/alerts", [alert for alert, _ in INHIBITION])

    expected = {
        tuple(sorted(alert["labels"].items())): "suppressed" if held else "active"
        for alert, held in INHIBITION
    }
    states: dict[tuple[tuple[str, str], ...], str] = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        states = {
            tuple(sorted(a["labels"].items())): a["status"]["state"]
            for a in _request(f"{server.url}/api/v2/alerts")
        }
        if states == expected:
            break
        time.sleep(0.1)
    assert states == expected, server.log.read_text()
