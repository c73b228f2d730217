"""Exporter benchmarks: a real ghost-exporter process probing loopback targets, and the
in-process cost of rendering /metrics against prometheus_client's generate_latest."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from bench.procstat import cpu_seconds, histogram_buckets, quantile, rss_bytes, sum_samples
from ghost_exporter.collector import TargetCollector
from ghost_exporter.config import parse_config
from ghost_exporter.probes import FailureReason, Health, ProbeResult
from ghost_exporter.store import ResultStore

BIN = Path(sys.executable).parent


def _wait_file(path: Path, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        time.sleep(0.05)
    raise RuntimeError(f"{path} did not appear")


@contextmanager
def process(argv: list[str], port_file: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield proc, int(_wait_file(port_file, proc))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def target_server(tmp: Path) -> Iterator[str]:
    port_file = tmp / "targets.port"
    argv = [sys.executable, "-m", "bench.targets", f"--port-file={port_file}"]
    with process(argv, port_file) as (_, port):
        yield f"http://127.0.0.1:{port}"


def targets_config(base: str, n: int, interval: str, timeout: str = "1s") -> str:
    """``n`` HTTP targets: 90% healthy, 5% slower than the timeout, 5% answering 500."""
    lines = [f"defaults: {{interval: {interval}, timeout: {timeout}}}", "services:"]
    for i in range(n):
        kind = "slow" if i % 20 == 7 else "fail" if i % 20 == 13 else "ok"
        lines.append(
            f"  - {{name: t{i:05d}, labels: {{pool: p{i % 4}}}, "
            f"http: {{url: '{base}/{kind}/{i}', health_field: status}}}}"
        )
    return "\n".join(lines) + "\n"


def _get(url: str) -> tuple[float, str]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as resp:
        body = resp.read().decode()
    return time.perf_counter() - start, body


def run_exporter(base: str, n: int, interval: float, seconds: float, tmp: Path) -> dict[str, float]:
    """Run a ghost-exporter process on ``n`` targets; scrape it once per interval."""
    config = tmp / f"bench-{n}.yml"
    config.write_text(targets_config(base, n, f"{int(interval * 1000)}ms"))
    port_file = tmp / f"exporter-{n}.port"
    argv = [
        str(BIN / "ghost-exporter"),
        f"--config.file={config}",
        "--web.listen-address=127.0.0.1:0",
        f"--web.port-file={port_file}",
        "--log.level=error",
    ]
    with process(argv, port_file) as (proc, port):
        url = f"http://127.0.0.1:{port}/metrics"
        time.sleep(interval * 1.5)  # warm-up: every target probed at least once
        _, first = _get(url)
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        lag0 = histogram_buckets(first, "ghost_exporter_scheduler_lag_seconds")
        probes0 = sum_samples(first, "ghost_probes_total")
        times: list[float] = []
        sizes: list[int] = []
        last = first
        while time.monotonic() - t0 < seconds:
            time.sleep(interval)
            elapsed, last = _get(url)
            times.append(elapsed)
            sizes.append(len(last.encode()))
        cpu = cpu_seconds(proc.pid) - cpu0
        wall = time.monotonic() - t0
        probes = sum_samples(last, "ghost_probes_total") - probes0
        lag1 = histogram_buckets(last, "ghost_exporter_scheduler_lag_seconds")
        return {
            "targets": n,
            "interval_seconds": interval,
            "probes_per_second": probes / wall,
            "cpu_ms_per_probe": 1000 * cpu / probes if probes else float("nan"),
            "cpu_share_of_one_core": cpu / wall,
            "scheduler_lag_p50_ms": 1000 * quantile(0.5, lag0, lag1),
            "scheduler_lag_p99_ms": 1000 * quantile(0.99, lag0, lag1),
            "rss_mb": rss_bytes(proc.pid) / 1e6,
            "metrics_median_ms": 1000 * statistics.median(times),
            "metrics_bytes": statistics.median(sizes),
        }


def filled_store(n: int) -> ResultStore:
    config = parse_config(targets_config("http://127.0.0.1:1", n, "15s"))
    store = ResultStore()
    store.sync(config.targets)
    for i, target in enumerate(config.targets):
        for _ in range(3):
            result = ProbeResult()
            result.duration = 0.001 * (i % 50)
            result.status_code = 200
            result.phases = {"resolve": 0.0, "connect": 1e-4, "processing": 5e-4, "transfer": 1e-5}
            if i % 10:
                result.health = Health.HEALTHY
                result.succeed()
            else:
                result.fail(FailureReason.TIMEOUT, "timed out")
            store.record(target, result)
    return store


def render_comparison(n: int = 1000, rounds: int = 15) -> dict[str, float]:
    """Median time of the cached exposition (one target changed per round, as between scrapes)
    against prometheus_client's generate_latest of the same families."""
    store = filled_store(n)
    states = list(store.states())
    target = states[0].target
    result = ProbeResult()
    result.succeed()
    ours: list[float] = []
    for _ in range(rounds):
        store.record(target, result)
        start = time.perf_counter()
        text = store.text()
        ours.append(time.perf_counter() - start)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TargetCollector(states))
    theirs: list[float] = []
    for _ in range(max(3, rounds // 3)):
        start = time.perf_counter()
        generate_latest(registry)
        theirs.append(time.perf_counter() - start)
    series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
    return {
        "targets": n,
        "series": series,
        "render_median_ms": 1000 * statistics.median(ours),
        "generate_latest_median_ms": 1000 * statistics.median(theirs),
        "ratio": statistics.median(ours) / statistics.median(theirs),
    }


def run(sizes: tuple[int, ...] = (100, 1000), seconds: float = 12.0) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with target_server(tmp) as base:
            runs = [run_exporter(base, n, 2.0, seconds, tmp) for n in sizes]
    return {"exporter": runs, "render": render_comparison()}
