"""Automatic remediation end to end: ghost-demo, ghost-exporter, Prometheus with the fast rule
profile, Alertmanager with the committed routing, and ghost-remediate with the example config.

The dual-monitor is made unhealthy through the demo's control listener; the alert fires, goes
through Alertmanager to ghost-remediate, which restarts the dual-monitor through the control
listener (a restart clears the fault), verifies it through the exporter's /probe, and the alert
resolves. The time from the fault to the exporter reporting the service healthy again is
printed in the terminal summary.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from ghost_dashboards.queries import DEFAULT_VALUES, panel_queries, substitute
from tests.support import (
    ROOT,
    cli,
    free_port,
    require_tool,
    run_exporter,
    run_process,
    stop_process,
)

pytestmark = pytest.mark.e2e

T = TypeVar("T")
#: The alerts alerts/alertmanager.yml routes to ghost-remediate.
REMEDIATED = 'alertname=~"GhostServiceUnhealthy|GhostServiceDown"'


def _request(method: str, url: str, body: object = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            payload = response.read()
    except urllib.error.HTTPError as exc:
        payload = exc.read()
    return json.loads(payload) if payload else None


def _text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        text: str = response.read().decode()
        return text


def _poll(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 0.1) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = probe()
        except (OSError, ValueError):
            found = None
        if found:
            return found
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout:g}s")


@dataclass
class Stack:
    tmp: Path
    control: str
    exporter: str
    prometheus: str
    alertmanager: str
    remediate_log: Path
    logs: list[Path] = field(default_factory=list)

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"{self.prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        data = _request("GET", url)
        assert data["status"] == "success", data
        result: list[dict[str, Any]] = data["data"]["result"]
        return result

    def audit(self, result: str) -> list[dict[str, Any]]:
        lines = []
        for line in self.remediate_log.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("msg") == "remediation" and entry.get("result") == result:
                lines.append(entry)
        return lines

    def exporter_says_healthy(self) -> bool:
        """The exporter's latest scheduled probe of the dual-monitor: up and healthy."""
        found = {}
        for family in text_string_to_metric_families(_text(self.exporter + "/metrics")):
            for sample in family.samples:
                if sample.labels.get("service") != "dual-monitor":
                    continue
                if sample.name == "ghost_service_up":
                    found["up"] = sample.value
                elif sample.name == "ghost_service_health" and sample.labels["state"] == "healthy":
                    found["healthy"] = sample.value
        return found == {"up": 1, "healthy": 1}

    def tails(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in self.logs if p.exists())


def _exporter_config(tmp: Path, ports: dict[str, int]) -> Path:
    path = tmp / "ghost.yml"
    path.write_text(
        "defaults: {interval: 1s, timeout: 800ms}\n"
        "services:\n"
        "  - name: dual-monitor\n"
        "    labels: {tier: core}\n"
        "    http:\n"
        f"      url: http://127.0.0.1:{ports['dual-monitor']}/health\n"
        "      valid_status_codes: [200]\n"
        "      health_field: status\n"
        "  - name: status-api\n"
        "    labels: {tier: core}\n"
        "    http:\n"
        f"      url: http://127.0.0.1:{ports['status-api']}/api/services/status\n"
        "      health_field: status\n"
    )
    return path


def _remediate_config(tmp: Path, control: int, exporter: str, alertmanager: str) -> Path:
    """examples/remediate.yml on this run's ports, with its alertmanager section (silences)."""
    text = (ROOT / "examples" / "remediate.yml").read_text(encoding="utf-8")
    replacements = {
        "127.0.0.1:8797": f"127.0.0.1:{control}",
        "http://127.0.0.1:9798": exporter,
        "!file remediate.token": f"!file {ROOT / 'examples' / 'remediate.token'}",
        "# alertmanager:\n#   url: http://127.0.0.1:9093\n#   timeout: 5s\n": (
            f"alertmanager:\n  url: {alertmanager}\n  timeout: 5s\n"
        ),
    }
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp / "remediate.yml"
    path.write_text(text, encoding="utf-8")
    return path


def _alertmanager_config(tmp: Path, status_api: int, remediate: int) -> Path:
    """alerts/alertmanager.yml with this run's ports; the ghost-remediate route waits 1 s."""
    text = (ROOT / "alerts" / "alertmanager.yml").read_text(encoding="utf-8")
    text = text.replace("127.0.0.1:8789/", f"127.0.0.1:{status_api}/")
    text = text.replace("127.0.0.1:9799/", f"127.0.0.1:{remediate}/")
    text = text.replace("../examples/", f"{ROOT / 'examples'}/")
    config = yaml.safe_load(text)
    [route] = [r for r in config["route"]["routes"] if r["receiver"] == "ghost-remediate"]
    route["group_wait"] = "1s"
    path = tmp / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _start(stack: ExitStack, tmp: Path, name: str, argv: list[str]) -> Path:
    log = tmp / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    stack.callback(stop_process, proc)
    return log


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    prometheus = require_tool("prometheus")
    alertmanager = require_tool("prometheus-alertmanager")
    tmp = tmp_path_factory.mktemp("remediation")
    with ExitStack() as stack:
        demo_file = tmp / "demo.json"
        _, demo = stack.enter_context(
            run_process(
                [cli("ghost-demo"), "--base-port=0", f"--port-file={demo_file}"],
                tmp,
                "demo",
                demo_file,
            )
        )
        ports = json.loads(demo)
        exporter = stack.enter_context(run_exporter(_exporter_config(tmp, ports), tmp))

        am_port = free_port()
        remediate_port_file = tmp / "remediate.port"
        remediate_config = _remediate_config(
            tmp, ports["control"], exporter.url, f"http://127.0.0.1:{am_port}"
        )
        remediate_proc, remediate_port = stack.enter_context(
            run_process(
                [
                    cli("ghost-remediate"),
                    f"--config.file={remediate_config}",
                    "--web.listen-address=127.0.0.1:0",
                    f"--web.port-file={remediate_port_file}",
                    "--log.format=json",
                ],
                tmp,
                "remediate",
                remediate_port_file,
            )
        )
        am_config = _alertmanager_config(tmp, ports["status-api"], int(remediate_port))
        am_log = _start(
            stack,
            tmp,
            "alertmanager",
            [
                alertmanager,
                f"--config.file={am_config}",
                f"--storage.path={tmp / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
            ],
        )
        rules = tmp / "rules"
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "alerts" / "generate.py"),
                "--profile=fast",
                f"--out={rules}",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        prometheus_config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(p) for p in sorted(rules.glob("*.yml"))],
            "alerting": {
                "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
            },
            "scrape_configs": [
                {
                    "job_name": "ghost",
                    "static_configs": [{"targets": [exporter.url.removeprefix("http://")]}],
                },
                {
                    "job_name": "ghost-remediate",
                    "static_configs": [{"targets": [f"127.0.0.1:{remediate_port}"]}],
                },
            ],
        }
        (tmp / "prometheus.yml").write_text(yaml.safe_dump(prometheus_config))
        prom_port = free_port()
        prom_log = _start(
            stack,
            tmp,
            "prometheus",
            [
                prometheus,
                f"--config.file={tmp / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp / 'prom-data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
        )
        running = Stack(
            tmp=tmp,
            control=f"http://127.0.0.1:{ports['control']}",
            exporter=exporter.url,
            prometheus=f"http://127.0.0.1:{prom_port}",
            alertmanager=f"http://127.0.0.1:{am_port}",
            remediate_log=tmp / "remediate.log",
            logs=[tmp / "remediate.log", am_log, prom_log, exporter.log],
        )
        try:
            _poll(
                "Prometheus sees the healthy dual-monitor and scrapes ghost-remediate",
                lambda: (
                    running.query(
                        'ghost_service_health{service="dual-monitor",state="healthy"} == 1'
                    )
                    and running.query('up{job="ghost-remediate"} == 1')
                    and _text(running.alertmanager + "/-/ready")
                ),
                timeout=60,
                interval=0.5,
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{running.tails()}") from None
        assert remediate_proc.poll() is None
        yield running


def test_an_unhealthy_dual_monitor_is_restarted_and_its_alert_resolves(
    stack: Stack, record_property: Callable[[str, object], None]
) -> None:
    try:
        _run(stack, record_property)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{stack.tails()}") from None


def _run(stack: Stack, record_property: Callable[[str, object], None]) -> None:
    answer = _request("POST", stack.control + "/-/fault/dual-monitor", {"mode": "unhealthy"})
    fault = time.monotonic()
    assert answer["mode"] == "unhealthy", answer

    _poll("the exporter sees the fault", lambda: not stack.exporter_says_healthy(), timeout=10)
    firing = _poll(
        "a dual-monitor alert fires in Prometheus",
        lambda: stack.query(f'ALERTS{{{REMEDIATED}, service="dual-monitor", alertstate="firing"}}'),
        timeout=40,
    )
    fired = time.monotonic()
    [started, *_] = _poll("ghost-remediate starts a restart", lambda: stack.audit("started"), 40)
    acted = time.monotonic()
    assert started["alertname"] in {a["metric"]["alertname"] for a in firing}
    assert started["receiver"] == "ghost-remediate"
    assert started["user"] == "(bearer token)"
    assert started["ran"] == f"POST {stack.control}/-/restart/dual-monitor"

    [done] = _poll("the restart is verified", lambda: stack.audit("succeeded"), timeout=40)
    assert done["detail"].startswith("action: HTTP 200"), done
    # The alert was silenced while the restart ran, and the silence expired once it worked.
    [silence] = [
        s
        for s in _request("GET", stack.alertmanager + "/api/v2/silences")
        if s["createdBy"] == "ghost-remediate"
    ]
    assert silence["id"] == done["silence_id"], (silence, done)
    assert silence["status"]["state"] == "expired"
    assert {(m["name"], m["value"]) for m in silence["matchers"]} == {
        ("alertname", started["alertname"]),
        ("service", "dual-monitor"),
    }
    _poll("the exporter reports it healthy", stack.exporter_says_healthy, timeout=20)
    healthy = time.monotonic()
    faults = _request("GET", stack.control + "/-/faults")["faults"]
    assert faults["dual-monitor"]["mode"] == "healthy"

    # (The error budget burn alerts of the fault may fire on: they are about the past.)
    _poll(
        "the alert resolves in Prometheus",
        lambda: not stack.query(f'ALERTS{{{REMEDIATED}, service="dual-monitor"}}'),
        timeout=30,
    )
    _poll(
        "Alertmanager has no active alert of the dual-monitor for ghost-remediate",
        lambda: (
            not [
                a
                for a in _request("GET", stack.alertmanager + "/api/v2/alerts")
                if a["labels"].get("service") == "dual-monitor"
                and a["labels"]["alertname"] in {"GhostServiceUnhealthy", "GhostServiceDown"}
            ]
        ),
        timeout=30,
    )
    resolved = time.monotonic()

    # Exactly one restart: the other alert of the fault (if any) was held back.
    assert len(stack.audit("started")) == 1
    assert not stack.audit("failed")

    # The overview's Remediations panel has data now.
    [panel] = [
        q for q in panel_queries(ROOT / "grafana" / "dashboards") if q.panel_title == "Remediations"
    ]
    expr = substitute(
        panel.expr, {**DEFAULT_VALUES, "service": "dual-monitor", "__rate_interval": "10s"}
    )
    _poll(
        'Prometheus has ghost_remediations_total{result="succeeded"}',
        lambda: stack.query(
            'ghost_remediations_total{service="dual-monitor",result="succeeded"} == 1'
        ),
        timeout=10,
    )
    assert stack.query(expr), expr

    report = (
        f"fault to healthy again: {healthy - fault:.1f} s (alert firing after "
        f"{fired - fault:.1f} s, restart started after {acted - fault:.1f} s, "
        f"{started['alertname']}; alert resolved after {resolved - fault:.1f} s)"
    )
    # Printed in the terminal summary by tests/e2e/conftest.py.
    record_property("remediation_timing", report)
