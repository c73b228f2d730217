"""Exporter benchmarks: a real ghost-exporter process probing loopback targets, and the
in-process cost of rendering /metrics against prometheus_client's generate_latest."""

from __future__ import annotations

import asyncio
import gzip
import logging
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from prometheus_client import CollectorRegistry, generate_latest

from bench.procstat import cpu_seconds, histogram_buckets, quantile, rss_bytes, sum_samples
from bench.reference import TargetCollector
from ghost_exporter.config import parse_config
from ghost_exporter.probes import FailureReason, Health, ProbeResult
from ghost_exporter.store import ResultStore

BIN = Path(sys.executable).parent


def _wait_file(path: Path, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        time.sleep(0.05)
    raise RuntimeError(f"{path} did not appear")


@contextmanager
def process(
    argv: list[str],
    port_file: Path | None,
    port: int = 0,
    env: dict[str, str] | None = None,
    log: Path | None = None,
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A subprocess (its output to ``log``, or discarded), and the port it reports in
    ``port_file`` (or the given ``port``); always stopped."""
    if port_file is not None:
        port_file.unlink(missing_ok=True)
    if log is None:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    else:
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield proc, port if port_file is None else int(_wait_file(port_file, proc))
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


def scrape_text(url: str) -> tuple[float, str]:
    """Scrape ``url`` asking for gzip, as Prometheus does; the time taken and the text."""
    start = time.perf_counter()
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        body = resp.read()
        if resp.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
    return time.perf_counter() - start, body.decode()


@dataclass(frozen=True, slots=True)
class Scrapes:
    median_seconds: float
    sent_bytes: int
    cpu_seconds: float


async def _timed_scrapes(
    url: str, count: int, pid: int, encoding: str = "identity", background: float = 0.0
) -> Scrapes:
    """Scrape ``url`` ``count`` times with a client whose HTTP parser is in C, as Prometheus's
    is compiled: the time measured is the exporter's, not a slow client's. ``encoding`` is the
    Accept-Encoding sent (Prometheus sends gzip). The exporter's CPU per scrape is its CPU over
    all the scrapes, less ``background`` (its share of a core when not scraped) times their
    duration, divided by ``count``."""
    times, sizes = [], []
    headers = {"Accept-Encoding": encoding}
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        cpu0 = cpu_seconds(pid)
        for _ in range(count):
            start = time.perf_counter()
            async with session.get(url, headers=headers) as resp:
                body = await resp.read()
                coding = resp.headers.get("Content-Encoding", "identity")
            times.append(time.perf_counter() - start)
            if coding != encoding:
                raise RuntimeError(f"asked for {encoding}, got {coding}")
            sizes.append(len(body))
        cpu = cpu_seconds(pid) - cpu0
    return Scrapes(
        statistics.median(times),
        int(statistics.median(sizes)),
        max(0.0, cpu - background * sum(times)) / count,
    )


def _exporter_argv(config: Path, port_file: Path, *extra: str) -> list[str]:
    return [
        str(BIN / "ghost-exporter"),
        f"--config.file={config}",
        "--web.listen-address=127.0.0.1:0",
        f"--web.port-file={port_file}",
        "--log.level=error",
        *extra,
    ]


def run_exporter(
    base: str, n: int, interval: float, seconds: float, tmp: Path, timing_scrapes: int = 7
) -> dict[str, float]:
    """Run a ghost-exporter process on ``n`` targets, scraped once per interval with gzip (as
    Prometheus would) while CPU is measured; then time ``timing_scrapes`` more scrapes of
    ``/metrics``, plain and gzip-compressed: time, bytes sent and the exporter's CPU per
    scrape."""
    config = tmp / f"bench-{n}.yml"
    config.write_text(targets_config(base, n, f"{int(interval * 1000)}ms"))
    port_file = tmp / f"exporter-{n}.port"
    with process(_exporter_argv(config, port_file), port_file) as (proc, port):
        url = f"http://127.0.0.1:{port}/metrics"
        time.sleep(interval + 2)  # warm-up: every target probed at least once
        _, first = scrape_text(url)
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        lag0 = histogram_buckets(first, "ghost_exporter_scheduler_lag_seconds")
        probes0 = sum_samples(first, "ghost_probes_total")
        last = first
        while time.monotonic() - t0 < seconds:
            time.sleep(interval)
            _, last = scrape_text(url)
        cpu = cpu_seconds(proc.pid) - cpu0
        wall = time.monotonic() - t0
        probes = sum_samples(last, "ghost_probes_total") - probes0
        lag1 = histogram_buckets(last, "ghost_exporter_scheduler_lag_seconds")
        rss = rss_bytes(proc.pid)
        background = cpu / wall
        plain = asyncio.run(_timed_scrapes(url, timing_scrapes, proc.pid, "identity", background))
        packed = asyncio.run(_timed_scrapes(url, timing_scrapes, proc.pid, "gzip", background))
        return {
            "targets": n,
            "interval_seconds": interval,
            "probes_per_second": probes / wall,
            "cpu_ms_per_probe": 1000 * cpu / probes if probes else float("nan"),
            "cpu_share_of_one_core": cpu / wall,
            "scheduler_lag_p50_ms": 1000 * quantile(0.5, lag0, lag1),
            "scheduler_lag_p99_ms": 1000 * quantile(0.99, lag0, lag1),
            "rss_mb": rss / 1e6,
            "metrics_median_ms": 1000 * plain.median_seconds,
            "metrics_mb": plain.sent_bytes / 1e6,
            "metrics_cpu_ms": 1000 * plain.cpu_seconds,
            "gzip_median_ms": 1000 * packed.median_seconds,
            "gzip_mb": packed.sent_bytes / 1e6,
            "gzip_cpu_ms": 1000 * packed.cpu_seconds,
        }


def run_shards(
    base: str, n: int, counts: tuple[int, ...], interval: float, seconds: float, tmp: Path
) -> list[dict[str, float]]:
    """``n`` targets split over 1, 2, 4… exporters with ``--probe.shard``: targets per exporter
    and the total CPU per probe of all of them together."""
    config = tmp / f"shards-{n}.yml"
    config.write_text(targets_config(base, n, f"{int(interval * 1000)}ms"))
    rows = []
    for count in counts:
        with ExitStack() as stack:
            procs = []
            for index in range(count):
                port_file = tmp / f"shard-{index}-of-{count}.port"
                argv = _exporter_argv(config, port_file, f"--probe.shard={index}/{count}")
                procs.append(stack.enter_context(process(argv, port_file)))
            urls = [f"http://127.0.0.1:{port}/metrics" for _, port in procs]
            time.sleep(interval + 2)
            firsts = [scrape_text(u)[1] for u in urls]
            cpu0 = sum(cpu_seconds(p.pid) for p, _ in procs)
            t0 = time.monotonic()
            lasts = firsts
            while time.monotonic() - t0 < seconds:
                time.sleep(interval)
                lasts = [scrape_text(u)[1] for u in urls]
            cpu = sum(cpu_seconds(p.pid) for p, _ in procs) - cpu0
            probes = sum(
                sum_samples(b, "ghost_probes_total") - sum_samples(a, "ghost_probes_total")
                for a, b in zip(firsts, lasts, strict=True)
            )
            per_exporter = [sum_samples(b, "ghost_exporter_targets") for b in lasts]
        rows.append(
            {
                "exporters": count,
                "targets": n,
                "targets_min": min(per_exporter),
                "targets_max": max(per_exporter),
                "cpu_ms_per_probe": 1000 * cpu / probes if probes else float("nan"),
            }
        )
    return rows


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


def _read(request: urllib.request.Request) -> bytes:
    with urllib.request.urlopen(request, timeout=60) as response:
        body: bytes = response.read()
        return body


async def _loop_hold(n: int, encoding: str, rounds: int) -> float:
    """The longest time the event loop was held while ``/metrics`` of ``n`` targets was scraped
    ``rounds`` times with ``encoding``, from a thread: how late a 2 ms timer fired, at worst."""
    from concurrent.futures import ThreadPoolExecutor

    from aiohttp import web

    from ghost_exporter import web as exporter_web
    from ghost_exporter.exporter import Exporter

    exporter = Exporter("unused.yml")  # never started: only its store and metrics are read
    exporter.store = filled_store(n)
    app = web.Application()
    app[exporter_web.EXPORTER] = exporter
    app[exporter_web.COMPRESSOR] = ThreadPoolExecutor(2)
    app.router.add_get("/metrics", exporter_web.metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/metrics"
    loop = asyncio.get_running_loop()
    worst = 0.0
    try:
        for _ in range(rounds):
            request = urllib.request.Request(url, headers={"Accept-Encoding": encoding})
            scrape = loop.run_in_executor(None, _read, request)
            while not scrape.done():
                start = loop.time()
                await asyncio.sleep(0.002)
                worst = max(worst, loop.time() - start - 0.002)
            await scrape
    finally:
        await runner.cleanup()
        app[exporter_web.COMPRESSOR].shutdown()
    return worst


def loop_hold(n: int = 10_000, rounds: int = 3) -> dict[str, float]:
    """In process: the longest event-loop hold of a plain and of a gzip scrape of ``n``
    targets (the compression of large chunks runs on a thread)."""
    logging.getLogger("ghost_exporter").setLevel(logging.CRITICAL)
    return {
        "targets": n,
        "plain_loop_hold_ms": 1000 * asyncio.run(_loop_hold(n, "identity", rounds)),
        "gzip_loop_hold_ms": 1000 * asyncio.run(_loop_hold(n, "gzip", rounds)),
    }


def run(
    tmp: Path, base: str, sizes: tuple[int, ...] = (1000, 10_000), seconds: float = 30.0
) -> dict[str, object]:
    runs = [run_exporter(base, n, 15.0, seconds, tmp) for n in sizes]
    shards = run_shards(base, 2000, (1, 2, 4), 5.0, 15.0, tmp)
    return {"exporter": runs, "shards": shards, "render": render_comparison()}
