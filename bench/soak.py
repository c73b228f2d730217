"""Soak: a ghost-exporter process on 1,000 loopback targets (10% flapping), reloaded every minute
between two configurations, for a long time; RSS, descriptors, asyncio tasks and scheduler lag
are sampled every 10 s. Exit 1 when RSS grows more than 5% after the warm-up, or descriptors grow.

    python -m bench.soak --duration 30m --out .run/soak.json

Descriptors are classified from /proc: connections to the targets (probes in flight), connections
from the soak's own scrapes, and everything else (listening socket, event loop, pipes, logs).
"Everything else" must not grow at all after the warm-up; probe connections must never exceed
the probes in flight (read just before and after) by more than a few, so a leaked connection shows
up at once instead of hiding in the noise of probes starting and ending.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.exporter import process
from bench.procstat import histogram_buckets, quantile, rss_bytes, sum_samples
from ghost_common.serving import write_atomically
from ghost_common.units import format_duration, parse_duration

BIN = Path(sys.executable).parent
LAG = "ghost_exporter_scheduler_lag_seconds"
#: Probe connections beyond the probes in flight tolerated at one sample (a probe that just ended
#: may not have closed its socket yet).
PROBE_SOCKET_SLACK = 10


# --- the loopback targets -----------------------------------------------------------------------


def serve_targets(port_file: Path, period: float, slow: float) -> None:
    """``/ok/I`` answers healthy; ``/flap/I`` cycles through healthy, 500, unhealthy and slower
    than the timeout, each for a quarter of ``period``, shifted per target."""
    from aiohttp import web

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text='{"status": "healthy"}', content_type="application/json")

    async def flap(request: web.Request) -> web.Response:
        i = int(request.match_info["i"])
        phase = int(((time.time() + i * 7.919) % period) / period * 4)
        if phase == 1:
            return web.Response(status=500, text='{"status": "error"}')
        if phase == 2:
            return web.Response(text='{"status": "unhealthy"}', content_type="application/json")
        if phase == 3:
            await asyncio.sleep(slow)
        return web.Response(text='{"status": "healthy"}', content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/ok/{i}", ok)
        app.router.add_get("/flap/{i}", flap)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
        await site.start()
        tmp = port_file.with_suffix(".tmp")
        tmp.write_text(f"{runner.addresses[0][1]}\n")
        tmp.replace(port_file)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        await stop.wait()
        await runner.cleanup()

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())


# --- configurations -----------------------------------------------------------------------------


def config_text(base: str, names: range, flapping: float, interval: float, timeout: float) -> str:
    """One target per number in ``names``; every ``1/flapping``-th of them flaps."""
    every = max(1, round(1 / flapping)) if flapping > 0 else 0
    lines = [
        f"defaults: {{interval: {format_duration(interval)}, timeout: {format_duration(timeout)}}}",
        "services:",
    ]
    for i in names:
        kind = "flap" if every and i % every == 0 else "ok"
        lines.append(
            f"  - {{name: t{i:05d}, labels: {{pool: p{i % 4}}}, "
            f"http: {{url: '{base}/{kind}/{i}', health_field: status}}}}"
        )
    return "\n".join(lines) + "\n"


# --- processes ------------------------------------------------------------------------------------


# --- /proc ----------------------------------------------------------------------------------------


def _socket_ports() -> dict[int, tuple[int, int, int]]:
    """inode -> (local port, remote port, TCP state) of every TCP socket in the namespace."""
    out: dict[int, tuple[int, int, int]] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    local, remote, state, inode = parts[1], parts[2], parts[3], int(parts[9])
                    out[inode] = (
                        int(local.rsplit(":", 1)[1], 16),
                        int(remote.rsplit(":", 1)[1], 16),
                        int(state, 16),
                    )
        except FileNotFoundError:
            continue
    return out


@dataclass
class Descriptors:
    total: int
    probe_connections: int
    scrape_connections: int
    other: int


def descriptors(pid: int, targets_port: int, exporter_port: int) -> Descriptors:
    """The process's open descriptors, by kind (see the module docstring)."""
    ports = _socket_ports()
    probe = scrape = other = 0
    names = os.listdir(f"/proc/{pid}/fd")
    for name in names:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue  # closed meanwhile
        match = re.fullmatch(r"socket:\[(\d+)\]", link)
        info = ports.get(int(match.group(1))) if match else None
        if info is not None and info[1] == targets_port:
            probe += 1
        elif info is not None and info[0] == exporter_port and info[2] != 0x0A:  # not LISTEN
            scrape += 1
        else:
            other += 1
    return Descriptors(len(names), probe, scrape, other)


# --- sampling -----------------------------------------------------------------------------------


def scrape(url: str) -> tuple[str, float]:
    start = time.perf_counter()
    with urllib.request.urlopen(url + "/metrics", timeout=30) as resp:
        text = resp.read().decode()
    return text, time.perf_counter() - start


def gauge(text: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(match.group(1)) if match else math.nan


@dataclass
class Sample:
    t: float
    rss_bytes: int
    fds: int
    probe_connections: int
    scrape_connections: int
    other_fds: int
    in_flight: float
    asyncio_tasks: float
    lag_p50: float
    lag_p99: float
    probes: float
    failures: float
    scrape_seconds: float
    config: str


@dataclass
class Soak:
    args: argparse.Namespace
    url: str
    pid: int
    targets_port: int
    exporter_port: int
    samples: list[Sample] = field(default_factory=list)
    reloads: list[dict[str, Any]] = field(default_factory=list)
    _lag: list[tuple[float, float]] = field(default_factory=list)

    def sample(self, t: float, config: str) -> Sample:
        before, _ = scrape(self.url)
        fds = descriptors(self.pid, self.targets_port, self.exporter_port)
        rss = rss_bytes(self.pid)
        text, took = scrape(self.url)
        lag = histogram_buckets(text, LAG)
        previous = self._lag or [(le, 0.0) for le, _ in lag]
        self._lag = lag
        in_flight = max(
            gauge(before, "ghost_exporter_probes_in_flight"),
            gauge(text, "ghost_exporter_probes_in_flight"),
        )
        sample = Sample(
            t=round(t, 1),
            rss_bytes=rss,
            fds=fds.total,
            probe_connections=fds.probe_connections,
            scrape_connections=fds.scrape_connections,
            other_fds=fds.other,
            in_flight=in_flight,
            asyncio_tasks=gauge(text, "ghost_exporter_asyncio_tasks"),
            lag_p50=quantile(0.5, previous, lag),
            lag_p99=quantile(0.99, previous, lag),
            probes=sum_samples(text, "ghost_probes_total"),
            failures=sum_samples(text, "ghost_probe_failures_total"),
            scrape_seconds=took,
            config=config,
        )
        self.samples.append(sample)
        return sample

    def reload(self, t: float, config: str) -> None:
        request = urllib.request.Request(self.url + "/-/reload", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                status = resp.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        self.reloads.append({"t": round(t, 1), "config": config, "status": status})


def judge(soak: Soak, warmup: float) -> dict[str, Any]:
    """Compare the steady state (after the warm-up) with the end of the warm-up."""
    before = [s for s in soak.samples if s.t <= warmup]
    after = [s for s in soak.samples if s.t > warmup]
    failures: list[str] = []
    summary: dict[str, Any] = {"warmup_seconds": warmup, "samples": len(soak.samples)}
    if not before or not after:
        failures.append("not enough samples on both sides of the warm-up")
        summary.update(passed=False, failures=failures)
        return summary
    # RSS: the median of the last three warm-up samples, against every later sample.
    tail = sorted(s.rss_bytes for s in before[-3:])
    baseline = tail[len(tail) // 2]
    peak = max(s.rss_bytes for s in after)
    growth = (peak - baseline) / baseline * 100
    other_base = before[-1].other_fds
    other_peak = max(s.other_fds for s in after)
    excess = [s.probe_connections - s.in_flight for s in after]
    reload_failures = [r for r in soak.reloads if r["status"] != 200]
    # Probes recorded per second: every target once per interval. A reload resets the counters of
    # the targets it removes, so only the increases between samples count.
    recorded = sum(max(0.0, b.probes - a.probes) for a, b in itertools.pairwise(after))
    span = after[-1].t - after[0].t
    probe_rate = recorded / span if span > 0 else math.nan
    expected_rate = soak.args.targets / soak.args.interval
    summary.update(
        rss_warmup_end_bytes=baseline,
        rss_max_after_bytes=peak,
        rss_growth_percent=round(growth, 2),
        other_fds_warmup_end=other_base,
        other_fds_max_after=other_peak,
        probe_connections_max=max(s.probe_connections for s in soak.samples),
        probe_connections_over_in_flight_max=max(excess),
        fds_min=min(s.fds for s in after),
        fds_max=max(s.fds for s in after),
        asyncio_tasks_min=min(s.asyncio_tasks for s in after),
        asyncio_tasks_max=max(s.asyncio_tasks for s in after),
        asyncio_tasks_over_in_flight_max=max(s.asyncio_tasks - s.in_flight for s in after),
        asyncio_tasks_over_in_flight_warmup_end=before[-1].asyncio_tasks - before[-1].in_flight,
        lag_p99_max_seconds=max(s.lag_p99 for s in after if not math.isnan(s.lag_p99)),
        lag_p50_median_seconds=sorted(s.lag_p50 for s in after)[len(after) // 2],
        scrape_seconds_max=max(s.scrape_seconds for s in after),
        probes=soak.samples[-1].probes,
        probe_failures=soak.samples[-1].failures,
        probes_per_second=round(probe_rate, 1),
        probes_per_second_expected=round(expected_rate, 1),
        reloads=len(soak.reloads),
        reload_failures=len(reload_failures),
    )
    if growth > soak.args.rss_growth_limit:
        failures.append(
            f"RSS grew {growth:.1f}% after the warm-up (limit {soak.args.rss_growth_limit}%)"
        )
    if other_peak > other_base:
        failures.append(
            f"descriptors grew: {other_base} at the end of the warm-up, {other_peak} later"
        )
    if max(excess) > PROBE_SOCKET_SLACK:
        failures.append(f"{max(excess):.0f} probe connections more than probes in flight")
    if not probe_rate >= 0.8 * expected_rate:
        failures.append(
            f"{probe_rate:.1f} probes recorded per second, expected {expected_rate:.1f}: "
            "targets stopped being probed or their results are lost"
        )
    if reload_failures:
        failures.append(f"{len(reload_failures)} reloads failed")
    summary.update(passed=not failures, failures=failures)
    return summary


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ghost-soak-") as tmp:
        return _run(args, out, Path(tmp))


def _run(args: argparse.Namespace, out: Path, work: Path) -> int:
    logs = out.parent
    duration = args.duration
    warmup = (
        args.warmup if args.warmup is not None else min(2 * args.reload_every + 10, duration / 2)
    )
    targets_argv = [
        *(sys.executable, "-m", "bench.soak", "--serve-targets", str(work / "targets.port")),
        *("--flap-period", format_duration(args.flap_period), "--slow", str(args.timeout + 1)),
    ]
    with process(targets_argv, work / "targets.port", log=logs / "soak-targets.log") as (_, t_port):
        base = f"http://127.0.0.1:{t_port}"
        n, churn = args.targets, max(1, args.targets // 20)
        timing = (args.flapping, args.interval, args.timeout)
        configs = {
            "A": config_text(base, range(n), *timing),
            "B": config_text(base, range(churn, n + churn), *timing),
        }
        config_path = work / "ghost.yml"
        write_atomically(config_path, configs["A"])
        exporter_argv = [
            str(BIN / "ghost-exporter"),
            f"--config.file={config_path}",
            "--web.listen-address=127.0.0.1:0",
            f"--web.port-file={work / 'exporter.port'}",
        ]
        with process(exporter_argv, work / "exporter.port", log=logs / "soak-exporter.log") as (
            proc,
            e_port,
        ):
            soak = Soak(args, f"http://127.0.0.1:{e_port}", proc.pid, t_port, e_port)
            ended = _loop(soak, configs, config_path, duration, proc)
    summary = judge(soak, warmup)
    interrupted = ended == "interrupted"
    summary["interrupted"] = interrupted
    if ended not in ("done", "interrupted"):
        summary["failures"].append(ended)
        summary["passed"] = False
    result = {
        "settings": {
            "duration_seconds": duration,
            "targets": args.targets,
            "flapping": args.flapping,
            "interval_seconds": args.interval,
            "timeout_seconds": args.timeout,
            "reload_every_seconds": args.reload_every,
            "sample_every_seconds": args.sample_every,
            "churn_per_reload": churn,
        },
        "summary": summary,
        "reloads": soak.reloads,
        "samples": [asdict(s) for s in soak.samples],
    }
    out.write_text(json.dumps(result, indent=1) + "\n")
    _print(summary, out)
    if interrupted:
        return 130
    return 0 if summary["passed"] else 1


def _loop(
    soak: Soak,
    configs: dict[str, str],
    config_path: Path,
    duration: float,
    proc: subprocess.Popen[bytes],
) -> str:
    """Sample and reload until ``duration``: "done", "interrupted", or what went wrong."""
    args = soak.args
    start = time.monotonic()
    current = "A"
    next_sample, next_reload = 0.0, args.reload_every + 5.0
    try:
        while True:
            now = time.monotonic() - start
            if proc.poll() is not None:
                return f"the exporter exited with {proc.returncode} after {now:.0f}s"
            if now >= next_reload and now < duration:
                current = "B" if current == "A" else "A"
                write_atomically(config_path, configs[current])
                soak.reload(now, current)
                next_reload += args.reload_every
            if now >= next_sample:
                s = soak.sample(now, current)
                print(
                    f"{s.t:7.0f}s rss={s.rss_bytes / 2**20:6.1f}MiB fds={s.fds:4d} "
                    f"(probe {s.probe_connections}, other {s.other_fds}) "
                    f"tasks={s.asyncio_tasks:.0f} in_flight={s.in_flight:.0f} "
                    f"lag_p99={s.lag_p99 * 1000:.1f}ms config={current}",
                    flush=True,
                )
                next_sample += args.sample_every
                if now >= duration:
                    return "done"
            time.sleep(max(0.0, min(next_sample, next_reload) - (time.monotonic() - start)))
    except KeyboardInterrupt:
        return "interrupted"
    except OSError as exc:  # the exporter stopped answering
        return f"the exporter stopped answering: {exc}"


def _print(summary: dict[str, Any], out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"soak: {'PASSED' if summary.get('passed') else 'FAILED'}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        if key == "failures":
            continue
        if key.endswith("_bytes"):
            value = f"{value / 2**20:.1f} MiB"
        elif isinstance(value, float):
            value = f"{value:.4g}"
        table.add_row(key, str(value))
    console = Console()
    console.print(table)
    for failure in summary.get("failures", []):
        console.print(f"[red]FAIL[/red] {failure}")
    console.print(f"written to {out}")


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--duration", type=_duration, default=30 * 60.0, help="how long (default 30m)"
    )
    parser.add_argument(
        "--out", default=".run/soak.json", help="JSON results (default .run/soak.json)"
    )
    parser.add_argument("--targets", type=int, default=1000, help="targets (default 1000)")
    parser.add_argument(
        "--flapping", type=float, default=0.1, help="share of flapping targets (0.1)"
    )
    parser.add_argument("--interval", type=_duration, default=15.0, help="probe interval (15s)")
    parser.add_argument("--timeout", type=_duration, default=2.0, help="probe timeout (2s)")
    parser.add_argument("--reload-every", type=_duration, default=60.0, help="reload period (1m)")
    parser.add_argument("--sample-every", type=_duration, default=10.0, help="sample period (10s)")
    parser.add_argument("--flap-period", type=_duration, default=60.0, help="flap cycle (1m)")
    parser.add_argument(
        "--warmup",
        type=_duration,
        default=None,
        help="warm-up left out of the checks (default: two reloads and 10s, at most half the run)",
    )
    parser.add_argument(
        "--rss-growth-limit", type=float, default=5.0, help="RSS growth allowed, %% (5)"
    )
    parser.add_argument("--serve-targets", metavar="PORT_FILE", help=argparse.SUPPRESS)
    parser.add_argument("--slow", type=float, default=3.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_targets:
        serve_targets(Path(args.serve_targets), args.flap_period, args.slow)
        return 0
    try:
        return run(args)
    except (RuntimeError, OSError) as exc:
        print(f"soak: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
