"""ghost-remediate as a real subprocess, a real Alertmanager, and a loopback service with an
exporter-like ``/probe``; everything started here is stopped when the test ends."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.support import ThreadedServer, cli, free_port, require_tool, stop_process, wait_for_file

TOKEN = "integration-test-token-0123456789"

PROBE = """\
# TYPE ghost_service_up gauge
ghost_service_up{{service="{service}"}} {up}
# TYPE ghost_service_health gauge
ghost_service_health{{service="{service}",state="healthy"}} {healthy}
ghost_service_health{{service="{service}",state="unhealthy"}} {unhealthy}
"""


class FakeService:
    """A service with a restart endpoint, and the exporter's ``/probe`` for it: a restart makes
    it healthy unless ``restart_heals`` is off."""

    def __init__(self) -> None:
        self.healthy: dict[str, bool] = {}
        self.restarts: list[str] = []
        self.restart_heals = True
        self._lock = threading.Lock()
        self.app = web.Application()
        self.app.router.add_post("/-/restart/{service}", self._restart)
        self.app.router.add_get("/probe", self._probe)

    async def _restart(self, request: web.Request) -> web.Response:
        service = request.match_info["service"]
        with self._lock:
            self.restarts.append(service)
            if self.restart_heals:
                self.healthy[service] = True
        return web.json_response({"service": service, "mode": "healthy"})

    async def _probe(self, request: web.Request) -> web.Response:
        service = request.query.get("target", "")
        if service not in self.healthy:
            raise web.HTTPNotFound(text="unknown target\n")
        healthy = self.healthy[service]
        text = PROBE.format(service=service, up=1, healthy=int(healthy), unhealthy=int(not healthy))
        return web.Response(text=text)


@pytest.fixture
def fake() -> Iterator[tuple[FakeService, str]]:
    service = FakeService()
    service.healthy["dual-monitor"] = False
    with ThreadedServer(service.app) as server:
        yield service, server.url


def http_rule(target: str, verify_timeout: str = "5s") -> str:
    return f"""\
  - name: restart-dual-monitor
    match: {{service: dual-monitor}}
    match_re: {{alertname: GhostServiceUnhealthy|GhostServiceDown}}
    placeholders: {{service: }}
    verify_timeout: {verify_timeout}
    action:
      http: {{url: '{target}/-/restart/{{service}}', timeout: 5s}}
"""


def remediate_yaml(target: str, rules: str, auth: str | None = None) -> str:
    return (
        (auth or f"auth:\n  bearer_token: {TOKEN}\n")
        + f"verify:\n  probe_url: {target}/probe\n  interval: 100ms\n"
        + "defaults: {cooldown: 0s, max_attempts: 5, window: 1h}\n"
        + "rules:\n"
        + rules
    )


@dataclass
class Remediate:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def lines(self) -> list[dict[str, Any]]:
        found = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
        return found

    def audit(self, result: str | None = None) -> list[dict[str, Any]]:
        return [
            line
            for line in self.lines()
            if line.get("msg") == "remediation" and result in (None, line.get("result"))
        ]

    def wait_for_audit(
        self, result: str, count: int = 1, timeout: float = 20.0
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.audit(result)
            if len(found) >= count:
                return found
            assert self.proc.poll() is None, self.log.read_text()
            time.sleep(0.05)
        raise AssertionError(
            f"no {count} audit lines with result={result}:\n{self.log.read_text()}"
        )

    def post(self, body: object, authorization: str | None = f"Bearer {TOKEN}") -> tuple[int, str]:
        headers = {"Content-Type": "application/json"}
        if authorization is not None:
            headers["Authorization"] = authorization
        data = json.dumps(body).encode()
        request = urllib.request.Request(self.url + "/webhook", data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def metrics(self) -> str:
        with urllib.request.urlopen(self.url + "/metrics", timeout=10) as response:
            text: str = response.read().decode()
            return text

    def count(self, result: str, service: str = "dual-monitor") -> float:
        needle = (
            f'ghost_remediations_total{{action="restart-dual-monitor",result="{result}",'
            f'service="{service}"}} '
        )
        for line in self.metrics().splitlines():
            if line.startswith(needle):
                return float(line.removeprefix(needle))
        return 0.0


@dataclass
class Launcher:
    tmp: Path
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def remediate(
        self, config: str, extra: Sequence[str] = (), scheme: str = "http", name: str = "remediate"
    ) -> Remediate:
        path = self.tmp / f"{name}.yml"
        path.write_text(config, encoding="utf-8")
        port_file = self.tmp / f"{name}.port"
        log = self.tmp / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    cli("ghost-remediate"),
                    f"--config.file={path}",
                    "--web.listen-address=127.0.0.1:0",
                    f"--web.port-file={port_file}",
                    "--log.format=json",
                    *extra,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.started.append(proc)
        port = wait_for_file(port_file, proc)
        return Remediate(proc, f"{scheme}://127.0.0.1:{port}", log)

    def alertmanager(self, receiver: dict[str, Any], port: int | None = None) -> str:
        """A real Alertmanager routing every alert to ``receiver``; returns its URL."""
        binary = require_tool("prometheus-alertmanager")
        config = {
            "route": {
                "receiver": "ghost-remediate",
                "group_by": ["alertname", "service"],
                "group_wait": "100ms",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [{"name": "ghost-remediate", "webhook_configs": [receiver]}],
        }
        path = self.tmp / "alertmanager.yml"
        path.write_text(json.dumps(config), encoding="utf-8")
        port = port or free_port()
        log = self.tmp / "alertmanager.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={path}",
                    f"--storage.path={self.tmp / 'alertmanager-data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--cluster.listen-address=",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.started.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(url + "/-/ready", timeout=1) as response:
                    if response.status == 200:
                        return url
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise AssertionError(f"Alertmanager did not get ready:\n{log.read_text()}")

    def stop(self) -> None:
        for proc in reversed(self.started):
            stop_process(proc)


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launcher]:
    launcher = Launcher(tmp_path)
    try:
        yield launcher
    finally:
        launcher.stop()


#: The alert the tests fire: GhostServiceUnhealthy for the dual-monitor.
UNHEALTHY = {
    "alertname": "GhostServiceUnhealthy",
    "severity": "critical",
    "service": "dual-monitor",
}


def receiver(url: str) -> dict[str, Any]:
    """Alertmanager's webhook config for ghost-remediate at ``url``: the token, resolved too."""
    return {
        "url": url + "/webhook",
        "send_resolved": True,
        "http_config": {"authorization": {"type": "Bearer", "credentials": TOKEN}},
    }


def push_alerts(alertmanager: str, *labels: dict[str, str], resolved: bool = False) -> None:
    """POST /api/v2/alerts: firing alerts, as Prometheus sends them; or, with ``resolved``,
    the same alerts resolved now (Alertmanager merges them into the firing ones, which keep
    their start)."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    ends = {"endsAt": now} if resolved else {}
    body = json.dumps(
        [{"labels": item, "annotations": {"summary": "test"}, **ends} for item in labels]
    )
    request = urllib.request.Request(
        alertmanager + "/api/v2/alerts",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def silences_of(alertmanager: str) -> list[dict[str, Any]]:
    """Alertmanager's silences created by ghost-remediate."""
    found: list[dict[str, Any]] = get_json(alertmanager + "/api/v2/silences")
    return [item for item in found if item["createdBy"] == "ghost-remediate"]
