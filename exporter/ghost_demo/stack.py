"""``make run`` / ``make stack``: start the demo services, a stress daemon, the exporter and
ghost-remediate (plus Prometheus and Alertmanager with ``--with-prometheus``), print where to
look, and stop everything on Ctrl-C or when one of them dies."""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import FrameType

import yaml

BIN = Path(sys.executable).parent
DEFAULT_BASE_PORT = 8787
DEFAULT_EXPORTER_PORT = 9798
DEFAULT_REMEDIATE_PORT = 9799
#: The repository's examples/remediate.yml and .token, alerts/alertmanager.yml and
#: ghost-alerts.yml, prometheus/prometheus.yml and rules/, shipped as package data in the same
#: layout so that their relative references (``../examples/``, ``rules/*.yml``) still hold.
FILES = Path(str(resources.files("ghost_demo") / "stack_files"))


class MissingFile(Exception):
    """A file of the stack is not installed."""


def stack_file(relative: str) -> Path:
    """A file of ``FILES``; a clear error when this installation lacks it."""
    path = FILES / relative
    if not path.is_file():
        raise MissingFile(
            f"{path} is missing: this installation of ghost_demo was built without the stack's "
            "files (a wheel built from a full source tree has them)"
        )
    return path


@dataclass
class Child:
    name: str
    argv: list[str]
    log: Path
    #: The loopback port it serves, waited for before the banner says the stack is up.
    port: int | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)


def _script(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else name


def exporter_config(run_dir: Path, base_port: int, stress_port: int) -> Path:
    """The embedded default config, with ports moved when the stack is not on the defaults."""
    text = (resources.files("ghost_exporter") / "default.yml").read_text()
    if base_port == DEFAULT_BASE_PORT and stress_port == DEFAULT_BASE_PORT + 3:
        return Path(str(resources.files("ghost_exporter") / "default.yml"))
    for offset in range(4):
        text = text.replace(f":{DEFAULT_BASE_PORT + offset}", f":{base_port + offset}")
    text = text.replace(f":{base_port + 3}", f":{stress_port}")
    path = run_dir / "ghost.yml"
    path.write_text(text)
    return path


def remediate_config(run_dir: Path, base_port: int, exporter_port: int) -> Path:
    """examples/remediate.yml, with the control and exporter ports moved when they are not the
    defaults (its token file is then named by its absolute path)."""
    example = stack_file("examples/remediate.yml")
    if base_port == DEFAULT_BASE_PORT and exporter_port == DEFAULT_EXPORTER_PORT:
        return example
    text = example.read_text()
    text = text.replace(f"127.0.0.1:{DEFAULT_BASE_PORT + 10}/", f"127.0.0.1:{base_port + 10}/")
    text = text.replace(f"127.0.0.1:{DEFAULT_EXPORTER_PORT}/", f"127.0.0.1:{exporter_port}/")
    token = stack_file("examples/remediate.token")
    text = text.replace("!file remediate.token", f"!file {token}")
    path = run_dir / "remediate.yml"
    path.write_text(text)
    return path


def alertmanager_config(run_dir: Path, base_port: int, remediate_port: int) -> Path:
    """alerts/alertmanager.yml, its webhooks moved to this stack's status-api and ghost-remediate
    ports when they are not the defaults."""
    committed = stack_file("alerts/alertmanager.yml")
    if base_port == DEFAULT_BASE_PORT and remediate_port == DEFAULT_REMEDIATE_PORT:
        return committed
    text = committed.read_text()
    text = text.replace(f"127.0.0.1:{DEFAULT_BASE_PORT + 2}/", f"127.0.0.1:{base_port + 2}/")
    text = text.replace(f"127.0.0.1:{DEFAULT_REMEDIATE_PORT}/", f"127.0.0.1:{remediate_port}/")
    text = text.replace("../examples/", f"{stack_file('examples/remediate.token').parent}/")
    path = run_dir / "alertmanager.yml"
    path.write_text(text)
    return path


def prometheus_config(run_dir: Path, exporter_port: int, remediate_port: int) -> Path:
    """prometheus/prometheus.yml with the exporter's and ghost-remediate's ports of this stack."""
    source = stack_file("prometheus/prometheus.yml")
    config = yaml.safe_load(source.read_text())
    config["rule_files"] = [str(source.parent / pattern) for pattern in config["rule_files"]]
    moved = {
        f"127.0.0.1:{DEFAULT_EXPORTER_PORT}": f"127.0.0.1:{exporter_port}",
        f"127.0.0.1:{DEFAULT_REMEDIATE_PORT}": f"127.0.0.1:{remediate_port}",
    }
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            static["targets"] = [moved.get(t, t) for t in static["targets"]]
    path = run_dir / "prometheus.yml"
    path.write_text(
        f"# Written by `make stack` from {source}.\n" + yaml.safe_dump(config, sort_keys=False)
    )
    return path


def _children(args: argparse.Namespace, run_dir: Path) -> list[Child]:
    logs = run_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    base = args.base_port
    stress_port = base + 3
    status_api = f"http://127.0.0.1:{base + 2}"
    config = exporter_config(run_dir, base, stress_port)
    children = [
        Child(
            "ghost-demo",
            [
                _script("ghost-demo"),
                f"--base-port={base}",
                f"--port-file={run_dir / 'demo.json'}",
                f"--stress-url=http://127.0.0.1:{stress_port}",
            ],
            logs / "ghost-demo.log",
        ),
        Child(
            "ghost-stress",
            [
                _script("ghost-stress"),
                "daemon",
                "--rate=2/s",
                "--duration=200ms-900ms",
                # Well inside the 99 % patch-success objective (a 0.2x burn): the demo stays
                # green until a fault is injected (the `failing` fault of stress, --control).
                "--failure-rate=0.002",
                "--control",
                f"--listen=127.0.0.1:{stress_port}",
                f"--report-to={status_api}/api/patches",
            ],
            logs / "ghost-stress.log",
            stress_port,
        ),
        Child(
            "ghost-exporter",
            [
                _script("ghost-exporter"),
                f"--config.file={config}",
                f"--web.listen-address=127.0.0.1:{args.exporter_port}",
            ],
            logs / "ghost-exporter.log",
            args.exporter_port,
        ),
        Child(
            "ghost-remediate",
            [
                _script("ghost-remediate"),
                f"--config.file={remediate_config(run_dir, base, args.exporter_port)}",
                f"--web.listen-address=127.0.0.1:{args.remediate_port}",
            ],
            logs / "ghost-remediate.log",
            args.remediate_port,
        ),
    ]
    if args.with_prometheus:
        children += _prometheus_children(args, run_dir)
    return children


def _require(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        sys.exit(f"{binary} is not installed: `make stack` installs it with apt-get")
    return path


def _prometheus_children(args: argparse.Namespace, run_dir: Path) -> list[Child]:
    logs = run_dir / "logs"
    prometheus_yml = prometheus_config(run_dir, args.exporter_port, args.remediate_port)
    return [
        Child(
            "prometheus",
            [
                _require("prometheus"),
                f"--config.file={prometheus_yml}",
                f"--storage.tsdb.path={run_dir / 'prometheus'}",
                "--web.listen-address=127.0.0.1:9090",
                "--web.enable-lifecycle",
            ],
            logs / "prometheus.log",
        ),
        Child(
            "alertmanager",
            [
                _require("prometheus-alertmanager"),
                "--config.file="
                + str(alertmanager_config(run_dir, args.base_port, args.remediate_port)),
                f"--storage.path={run_dir / 'alertmanager'}",
                "--web.listen-address=127.0.0.1:9093",
                "--cluster.listen-address=",
            ],
            logs / "alertmanager.log",
        ),
    ]


def _banner(args: argparse.Namespace, run_dir: Path) -> str:
    base = args.base_port
    control = base + 10
    lines = [
        "",
        "ghost demo stack is up. Open:",
        f"  exporter         http://127.0.0.1:{args.exporter_port}/  "
        f"(/metrics, /probe?target=dual-monitor)",
        f"  dual-monitor     http://127.0.0.1:{base}/health",
        f"  telemetry-api    http://127.0.0.1:{base + 1}/health  (WebSocket /ws)",
        f"  status-api       http://127.0.0.1:{base + 2}/api/services/status",
        f"  stress daemon    http://127.0.0.1:{base + 3}/api/status",
        f"  ghost-remediate  http://127.0.0.1:{args.remediate_port}/  (/metrics; restarts "
        "dual-monitor when Alertmanager says it is down or unhealthy)",
    ]
    if args.with_prometheus:
        lines += [
            "  prometheus       http://127.0.0.1:9090/alerts",
            "  alertmanager     http://127.0.0.1:9093/",
            f"  notifications    http://127.0.0.1:{base + 2}/api/alerts",
        ]
    lines += [
        "",
        "Inject a fault (modes: healthy degraded unhealthy down slow stale error):",
        f'  curl -X POST 127.0.0.1:{control}/-/fault/dual-monitor -d \'{{"mode": "unhealthy"}}\'',
        f"  curl -X DELETE 127.0.0.1:{control}/-/fault/dual-monitor",
        "Make the stress daemon fail half its patches for 5 minutes (a patch-failure burst):",
        f'  curl -X POST 127.0.0.1:{control}/-/fault/stress -d \'{{"mode": "failing"}}\'',
        f"  curl -X DELETE 127.0.0.1:{control}/-/fault/stress",
        "Or make status-api an out-of-sync monitor (modes: frozen lagging dropping):",
        f'  curl -X POST 127.0.0.1:{control}/-/fault/status-api -d \'{{"mode": "frozen"}}\'',
    ]
    if args.with_prometheus:
        lines += [
            "An unhealthy dual-monitor is restarted by ghost-remediate within about 2.5 minutes"
            " (the alert's `for` and Alertmanager's wait);",
            f"  its decisions: grep msg=remediation {run_dir / 'logs' / 'ghost-remediate.log'}",
        ]
    lines += [
        "Check from a shell:",
        f"  {_script('ghost-exporter')} check",
        "",
        f"Logs in {run_dir / 'logs'}. Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def _wait_for_demo(run_dir: Path, child: Child, timeout: float = 20.0) -> None:
    port_file = run_dir / "demo.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_file.exists():
            try:
                json.loads(port_file.read_text())
                return
            except ValueError:
                pass
        if child.proc is not None and child.proc.poll() is not None:
            return
        time.sleep(0.05)


def _wait_listening(child: Child, timeout: float = 30.0) -> None:
    """Until ``child`` accepts connections on its port (or exits, or ``timeout`` passes: the
    loop of ``run`` then reports what exited)."""
    if child.port is None:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.proc is not None and child.proc.poll() is not None:
            return
        try:
            with socket.create_connection(("127.0.0.1", child.port), timeout=1.0):
                return
        except OSError:
            time.sleep(0.05)


def _stop(children: Sequence[Child]) -> None:
    for child in reversed(children):
        if child.proc is not None and child.proc.poll() is None:
            child.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in reversed(children):
        if child.proc is None:
            continue
        try:
            child.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.proc.kill()
            child.proc.wait()


def run(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "demo.json").unlink(missing_ok=True)
    children = _children(args, run_dir)
    stopping = False

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        for child in children:
            with child.log.open("ab") as out:
                child.proc = subprocess.Popen(child.argv, stdout=out, stderr=subprocess.STDOUT)
            if child.name == "ghost-demo":
                _wait_for_demo(run_dir, child)
        for child in children:
            _wait_listening(child)
        print(_banner(args, run_dir), flush=True)
        while not stopping:
            for child in children:
                assert child.proc is not None
                if child.proc.poll() is not None:
                    print(
                        f"{child.name} exited with {child.proc.returncode}; see {child.log}",
                        file=sys.stderr,
                    )
                    return 1
            time.sleep(0.2)
        return 0
    finally:
        print("stopping…", file=sys.stderr)
        _stop(children)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ghost_demo.stack",
        description="Start the demo stack, a stress daemon, the exporter and ghost-remediate; "
        "Ctrl-C stops all.",
    )
    parser.add_argument("--run-dir", default=".run", help="logs and data (default .run)")
    parser.add_argument(
        "--base-port",
        type=int,
        default=DEFAULT_BASE_PORT,
        help="demo services on PORT..PORT+2, stress daemon PORT+3, control PORT+10 (default 8787)",
    )
    parser.add_argument(
        "--exporter-port",
        type=int,
        default=DEFAULT_EXPORTER_PORT,
        help=f"exporter port (default {DEFAULT_EXPORTER_PORT})",
    )
    parser.add_argument(
        "--remediate-port",
        type=int,
        default=DEFAULT_REMEDIATE_PORT,
        help=f"ghost-remediate port (default {DEFAULT_REMEDIATE_PORT})",
    )
    parser.add_argument(
        "--with-prometheus",
        action="store_true",
        help="also start Prometheus (9090) and Alertmanager (9093)",
    )
    args = parser.parse_args(argv)
    try:
        return run(args)
    except MissingFile as exc:
        print(f"ghost_demo.stack: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
