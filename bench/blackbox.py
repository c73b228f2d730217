"""ghost-exporter against blackbox_exporter, side by side on the same loopback targets.

blackbox_exporter is driven as Prometheus drives it: one ``/probe`` request per target per
second, spread evenly over the second, on kept-alive connections. ghost-exporter probes the same
targets on its own schedule at a 1 s interval and its ``/metrics`` is scraped once a second. Each
exporter's CPU time is read from /proc for its own process only, so the drivers' and the target
server's CPU is not counted. Both are asked for gzip, as Prometheus asks.

Besides CPU per probe, each row has what the process did per probe while it was measured:
user and system CPU, voluntary context switches (wake-ups from epoll), involuntary ones
(preemptions), minor page faults, and for ghost-exporter its garbage collections.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from bench.exporter import BIN, process, scrape_text, targets_config
from bench.procstat import Counters, counters, free_port, sum_samples

BLACKBOX = "prometheus-blackbox-exporter"
BLACKBOX_CONFIG = """\
modules:
  http_2xx:
    prober: http
    timeout: 1s
    http:
      preferred_ip_protocol: ip4
"""


def target_urls(base: str, n: int) -> list[str]:
    """The same mix as ``targets_config``: 90% healthy, 5% slow, 5% answering 500."""
    urls = []
    for i in range(n):
        kind = "slow" if i % 20 == 7 else "fail" if i % 20 == 13 else "ok"
        urls.append(f"{base}/{kind}/{i}")
    return urls


async def _drive(probe_urls: list[str], seconds: float) -> int:
    """Request every URL once per second, spread over the second; returns answers received
    (a request without an answer within 5 s, which a starved machine can cause, is not
    counted). Answers are asked for gzip (aiohttp's default header), as Prometheus asks."""
    loop = asyncio.get_running_loop()
    done = 0
    tasks: set[asyncio.Task[None]] = set()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(url: str) -> None:
            nonlocal done
            try:
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
                    await resp.read()
            except (aiohttp.ClientError, TimeoutError):
                return
            done += 1

        start = loop.time()
        n = len(probe_urls)
        tick = 0
        while loop.time() - start < seconds:
            for i, url in enumerate(probe_urls):
                await asyncio.sleep(max(0.0, start + tick + i / n - loop.time()))
                task = asyncio.create_task(one(url))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            tick += 1
        await asyncio.gather(*tasks, return_exceptions=True)
    return done


def run_blackbox(base: str, n: int, seconds: float, tmp: Path) -> dict[str, Any]:
    binary = shutil.which(BLACKBOX)
    if binary is None:
        raise RuntimeError(f"{BLACKBOX} is not installed: `make bench` installs it")
    config = tmp / "blackbox.yml"
    config.write_text(BLACKBOX_CONFIG)
    port = free_port()  # blackbox_exporter cannot report the port it got for port 0
    argv = [binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"]
    with process(argv, None, port) as (proc, _):
        probe = f"http://127.0.0.1:{port}/probe?module=http_2xx&target="
        urls = [probe + quote(u, safe="") for u in target_urls(base, n)]
        _wait_http(f"http://127.0.0.1:{port}/-/healthy")
        asyncio.run(_drive(urls, 2.0))  # warm-up
        before, t0 = counters(proc.pid), time.monotonic()
        probes = asyncio.run(_drive(urls, seconds))
        used = counters(proc.pid) - before
        wall = time.monotonic() - t0
    return {"exporter": "blackbox_exporter", "targets": n, **_per_probe(used, probes, wall)}


def _per_probe(used: Counters, probes: float, wall: float) -> dict[str, float]:
    return {
        "probes_per_second": probes / wall,
        "cpu_ms_per_probe": 1000 * used.cpu / probes,
        "cpu_share_of_one_core": used.cpu / wall,
        "user_ms_per_probe": 1000 * used.user / probes,
        "system_ms_per_probe": 1000 * used.system / probes,
        "wakeups_per_probe": used.voluntary_switches / probes,
        "preemptions_per_probe": used.involuntary_switches / probes,
        "minor_faults_per_probe": used.minor_faults / probes,
    }


def run_ghost(base: str, n: int, seconds: float, tmp: Path, uvloop: bool = True) -> dict[str, Any]:
    config = tmp / "ghost-side-by-side.yml"
    config.write_text(targets_config(base, n, "1s", timeout="1s"))
    port_file = tmp / "ghost-side-by-side.port"
    argv = [
        str(BIN / "ghost-exporter"),
        f"--config.file={config}",
        "--web.listen-address=127.0.0.1:0",
        f"--web.port-file={port_file}",
        "--log.level=error",
    ]
    env = None if uvloop else {**os.environ, "GHOST_EXPORTER_NO_UVLOOP": "1"}
    with process(argv, port_file, env=env) as (proc, port):
        metrics = [f"http://127.0.0.1:{port}/metrics"]
        asyncio.run(_drive(metrics, 2.0))
        first = _get(metrics[0])
        before, t0 = counters(proc.pid), time.monotonic()
        asyncio.run(_drive(metrics, seconds))  # one scrape a second, as Prometheus would
        used = counters(proc.pid) - before
        wall = time.monotonic() - t0
        last = _get(metrics[0])
    probes = sum_samples(last, "ghost_probes_total") - sum_samples(first, "ghost_probes_total")
    collections = sum_samples(last, "python_gc_collections_total") - sum_samples(
        first, "python_gc_collections_total"
    )
    return {
        "exporter": "ghost-exporter" if uvloop else "ghost-exporter (asyncio loop)",
        "targets": n,
        **_per_probe(used, probes, wall),
        "gc_per_1000_probes": 1000 * collections / probes,
    }


def _get(url: str) -> str:
    return scrape_text(url)[1]


def _wait_http(url: str, timeout: float = 20.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def run(
    base: str, tmp: Path, n: int = 200, seconds: float = 12.0, asyncio_loop: bool = True
) -> dict[str, Any]:
    """blackbox_exporter, then ghost-exporter (and ghost-exporter on the asyncio loop)."""
    blackbox = run_blackbox(base, n, seconds, tmp)
    ghost = run_ghost(base, n, seconds, tmp)
    rows = [blackbox, ghost]
    if asyncio_loop:
        rows.append(run_ghost(base, n, seconds, tmp, uvloop=False))
    return {"rows": rows, "ratio": ghost["cpu_ms_per_probe"] / blackbox["cpu_ms_per_probe"]}


if __name__ == "__main__":
    import json
    import tempfile

    from bench.exporter import target_server

    with tempfile.TemporaryDirectory() as name, target_server(Path(name)) as url:
        print(json.dumps(run(url, Path(name)), indent=2))
