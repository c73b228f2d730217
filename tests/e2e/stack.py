"""The ghost stack of the end-to-end tests, on loopback: every process is a real subprocess.

ghost-demo, a ghost-stress daemon and ghost-exporter (configured from examples/ghost.yml with
the ports of this run), then Prometheus scraping the exporter and, when the test wants alerts,
Alertmanager. Each ``start_*`` function registers the process it starts on an ``ExitStack`` so
that everything is stopped however the test ends; the stress daemon and the exporter are
``Restartable`` so that a test can stop them and start them again on the same port.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import yaml

from tests.support import ROOT, cli, free_port, require_tool, stop_process, wait_for_file

#: How Prometheus reads the exporter, each from its shipped config: "scrape" scrapes /metrics
#: (prometheus/prometheus.yml), "probe" scrapes /probe?target=NAME for every configured name and
#: only the exporter's own families from /metrics (prometheus/prometheus-probe.yml).
MODES = ("scrape", "probe")
SHIPPED_CONFIGS = {"scrape": "prometheus.yml", "probe": "prometheus-probe.yml"}
#: The exporter's and ghost-remediate's addresses in the shipped configs.
SHIPPED_EXPORTER = "127.0.0.1:9798"
SHIPPED_REMEDIATE = "127.0.0.1:9799"

#: The demo's default ports in examples/ghost.yml, by the name ghost-demo's port file gives them.
EXAMPLE_PORTS = {8787: "dual-monitor", 8788: "telemetry-api", 8789: "status-api"}
EXAMPLE_DAEMON_PORT = 8790


def request_json(method: str, url: str, body: object = None, timeout: float = 10.0) -> Any:
    """One HTTP request; the decoded JSON answer (also for an HTTP error status)."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data is not None else {}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
    except urllib.error.HTTPError as exc:
        payload = exc.read()
    return json.loads(payload) if payload else None


def instant_query(base: str, expr: str) -> dict[str, object]:
    """A Prometheus instant query; the whole answer, errors included."""
    data = request_json("GET", f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    assert isinstance(data, dict)
    return data


def has_data(base: str, expr: str) -> bool:
    result = instant_query(base, expr).get("data")
    return isinstance(result, dict) and bool(result.get("result"))


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    """Poll ``url`` until it answers 200; fail with the log's tail if the process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{proc.args!r} exited:\n{log.read_text()[-3000:]}"
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    raise AssertionError(
        f"{url} did not become ready within {timeout}s:\n{log.read_text()[-3000:]}"
    )


class Restartable:
    """A process of the stack that a test may stop and start again; stopped at the end."""

    def __init__(self, stack: ExitStack, tmp: Path, name: str, port_file: Path) -> None:
        self.name = name
        self._tmp = tmp
        self._port_file = port_file
        self._proc: subprocess.Popen[bytes] | None = None
        self._starts = 0
        stack.callback(self.stop)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, argv: Sequence[str]) -> str:
        """Start ``argv``, which writes ``port_file`` once it listens; returns the file's text."""
        assert not self.running, f"{self.name} is already running"
        self._port_file.unlink(missing_ok=True)
        self._starts += 1
        log = self._tmp / f"{self.name}-{self._starts}.log"
        with log.open("wb") as out:
            self._proc = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT)
        return wait_for_file(self._port_file, self._proc)

    def stop(self) -> None:
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None


def start_demo(stack: ExitStack, tmp: Path, *extra: str) -> dict[str, int]:
    """ghost-demo with every port picked by the system; returns the ports it wrote."""
    port_file = tmp / "demo.json"
    argv = [cli("ghost-demo"), "--base-port=0", f"--port-file={port_file}", *extra]
    with (tmp / "demo.log").open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    stack.callback(stop_process, proc)
    ports = json.loads(wait_for_file(port_file, proc))
    assert isinstance(ports, dict)
    return {str(name): int(port) for name, port in ports.items()}


class StressDaemon(Restartable):
    """``ghost-stress daemon`` on one loopback port for all its runs."""

    def __init__(self, stack: ExitStack, tmp: Path) -> None:
        super().__init__(stack, tmp, "stress", tmp / "stress.port")
        self.port = free_port()

    def run(self, *args: str) -> None:
        argv = [cli("ghost-stress"), "daemon", *args]
        argv += [f"--listen=127.0.0.1:{self.port}", f"--port-file={self._port_file}"]
        self.start(argv)


class Exporter(Restartable):
    """``ghost-exporter`` on one loopback port for all its runs."""

    def __init__(self, stack: ExitStack, tmp: Path, config: Path) -> None:
        super().__init__(stack, tmp, "exporter", tmp / "exporter.port")
        self.port = free_port()
        self.config = config

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def run(self) -> None:
        self.start(
            [
                cli("ghost-exporter"),
                f"--config.file={self.config}",
                f"--web.listen-address={self.address}",
                f"--web.port-file={self._port_file}",
            ]
        )


def _with_port(url: str, ports: Mapping[int, int]) -> str:
    parts = urllib.parse.urlsplit(url)
    port = parts.port
    assert port is not None, url
    assert port in ports, url
    return parts._replace(netloc=f"{parts.hostname}:{ports[port]}").geturl()


def exporter_config(
    path: Path,
    demo_ports: Mapping[str, int],
    stress_port: int,
    defaults: Mapping[str, str],
    overrides: Mapping[str, Mapping[str, str]] | None = None,
) -> Path:
    """examples/ghost.yml pointed at this run's ports, with other defaults and per-target keys.

    Every URL is moved: services', daemons' and reporters', and a pipeline's emit and observers.
    """
    config = yaml.safe_load((ROOT / "examples" / "ghost.yml").read_text(encoding="utf-8"))
    ports = {example: demo_ports[name] for example, name in EXAMPLE_PORTS.items()}
    ports[EXAMPLE_DAEMON_PORT] = stress_port
    config["defaults"] = dict(defaults)
    targets = [*config["services"], *config["daemons"], *config.get("reporters", [])]
    pipelines = config.get("pipelines", [])
    for target in [*targets, *pipelines]:
        sections = [target, target.get("emit", {}), *target.get("observe", [])]
        for section in sections:
            for kind in ("http", "websocket"):
                if kind in section:
                    section[kind]["url"] = _with_port(section[kind]["url"], ports)
        if "url" in target:
            target["url"] = _with_port(target["url"], ports)
        target.update((overrides or {}).get(target["name"], {}))
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def fast_rules(out: Path) -> list[Path]:
    """The rule files of the `fast` profile (alerts/generate.py --profile fast) in ``out``."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "alerts" / "generate.py"), "--profile=fast", f"--out={out}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rules = sorted(out.glob("*.yml"))
    assert rules, f"alerts/generate.py wrote no rule files into {out}"
    return rules


def scrape_configs(
    mode: str, exporter_address: str, probe_interval: str | None = None
) -> list[dict[str, Any]]:
    """The scrape jobs of the shipped config of ``mode``, pointed at this run's exporter.

    Job names, paths and relabelling stay those of the file; the jobs' own intervals go (the
    test's global one applies), or, for /probe jobs, become ``probe_interval`` (interval and
    timeout: the scrape timeout caps the probe's). The ghost-remediate job goes: these stacks
    have none.
    """
    source = ROOT / "prometheus" / SHIPPED_CONFIGS[mode]
    shipped = yaml.safe_load(source.read_text(encoding="utf-8"))
    jobs = []
    for job in shipped["scrape_configs"]:
        if any(SHIPPED_REMEDIATE in s.get("targets", []) for s in job.get("static_configs", [])):
            continue
        text = json.dumps(job)
        assert SHIPPED_EXPORTER in text, f"{source}: job {job['job_name']} not on the exporter"
        moved: dict[str, Any] = json.loads(text.replace(SHIPPED_EXPORTER, exporter_address))
        moved.pop("scrape_interval", None)
        moved.pop("scrape_timeout", None)
        if moved.get("metrics_path") == "/probe" and probe_interval is not None:
            moved["scrape_interval"] = moved["scrape_timeout"] = probe_interval
        jobs.append(moved)
    return jobs


def start_prometheus(
    stack: ExitStack,
    tmp: Path,
    rule_files: Sequence[Path],
    exporter_address: str,
    alertmanager_address: str | None = None,
    mode: str = "scrape",
    probe_interval: str | None = None,
) -> tuple[str, subprocess.Popen[bytes]]:
    """Prometheus reading the exporter as the shipped config of ``mode`` does, every second,
    evaluating every second; its alerts carry the label ``scrape_mode`` (an external label)."""
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": "1s",
            "evaluation_interval": "1s",
            "external_labels": {"scrape_mode": mode},
        },
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": scrape_configs(mode, exporter_address, probe_interval),
    }
    if alertmanager_address is not None:
        config["alerting"] = {
            "alertmanagers": [{"static_configs": [{"targets": [alertmanager_address]}]}]
        }
    config_file = tmp / f"prometheus-{mode}.yml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    port = free_port()
    log = tmp / f"prometheus-{mode}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                require_tool("prometheus"),
                f"--config.file={config_file}",
                f"--storage.tsdb.path={tmp / f'prometheus-data-{mode}'}",
                f"--web.listen-address=127.0.0.1:{port}",
                # Firing alerts go to Alertmanager again every second, resolved ones at once.
                "--rules.alert.resend-delay=1s",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    stack.callback(stop_process, proc)
    base = f"http://127.0.0.1:{port}"
    wait_ready(f"{base}/-/ready", proc, log)
    return base, proc


def _absolute_files(value: Any, base: Path) -> Any:
    """``value`` with every relative ``*_file`` path in it made absolute against ``base``."""
    if isinstance(value, dict):
        return {
            key: str(base / item)
            if key.endswith("_file") and isinstance(item, str) and not Path(item).is_absolute()
            else _absolute_files(item, base)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_absolute_files(item, base) for item in value]
    return value


def alertmanager_config(
    source: Path, webhook_port: int, timings: Mapping[str, str]
) -> dict[str, Any]:
    """``source`` with other group timings and every webhook on the demo status-api.

    Routes, matchers, receivers and inhibition rules stay as they are: only the timings of the
    routes that set them (and of the root route) change, and every webhook of a receiver posts
    to ``http://127.0.0.1:PORT/api/alerts/RECEIVER``, where status-api records it under the
    receiver's name. Relative ``*_file`` paths (credentials) are made absolute, since the
    config is written elsewhere.
    """
    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    assert isinstance(config, dict)

    def retime(route: dict[str, Any], root: bool) -> None:
        for key, value in timings.items():
            if root or key in route:
                route[key] = value
        for child in route.get("routes", []):
            retime(child, False)

    retime(config["route"], True)
    for receiver in config["receivers"]:
        webhooks = receiver.get("webhook_configs", [])
        assert webhooks, f"receiver {receiver['name']} has no webhook the test could watch"
        for webhook in webhooks:
            webhook["url"] = f"http://127.0.0.1:{webhook_port}/api/alerts/{receiver['name']}"
            if "http_config" in webhook:
                webhook["http_config"] = _absolute_files(webhook["http_config"], source.parent)
    return config


def routed_receivers(config_file: Path, labels: Mapping[str, str]) -> set[str]:
    """The receivers Alertmanager's routing tree in ``config_file`` picks for ``labels``."""
    done = subprocess.run(
        [
            require_tool("amtool"),
            "config",
            "routes",
            "test",
            f"--config.file={config_file}",
            *(f"{key}={value}" for key, value in sorted(labels.items())),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return set(done.stdout.strip().split(","))


def start_alertmanager(stack: ExitStack, tmp: Path, config: Mapping[str, Any]) -> tuple[str, Path]:
    """Alertmanager on a loopback port, clustering off; returns its base URL and config file."""
    amtool = require_tool("amtool")
    config_file = tmp / "alertmanager.yml"
    config_file.write_text(yaml.safe_dump(dict(config), sort_keys=False), encoding="utf-8")
    check = subprocess.run(
        [amtool, "check-config", str(config_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    port = free_port()
    log = tmp / "alertmanager.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                require_tool("prometheus-alertmanager"),
                f"--config.file={config_file}",
                f"--storage.path={tmp / 'alertmanager-data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    stack.callback(stop_process, proc)
    base = f"http://127.0.0.1:{port}"
    wait_ready(f"{base}/-/ready", proc, log)
    return base, config_file
