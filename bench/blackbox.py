"""ghost-exporter against blackbox_exporter, side by side on the same loopback targets.

blackbox_exporter is driven as Prometheus drives it: one ``/probe`` request per target per
second, spread evenly over the second, on kept-alive connections. ghost-exporter probes the same
targets on its own schedule at a 1 s interval and its ``/metrics`` is scraped once a second. Each
exporter's CPU time is read from /proc for its own process only, so the drivers' and the target
server's CPU is not counted.
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

from bench.exporter import BIN, process, targets_config
from bench.procstat import cpu_seconds, free_port, sum_samples

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
    """Request every URL once per second, spread over the second; returns answers received."""
    loop = asyncio.get_running_loop()
    done = 0
    tasks: set[asyncio.Task[None]] = set()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(url: str) -> None:
            nonlocal done
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
                await resp.read()
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
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        probes = asyncio.run(_drive(urls, seconds))
        cpu = cpu_seconds(proc.pid) - cpu0
        wall = time.monotonic() - t0
    return {
        "exporter": "blackbox_exporter",
        "targets": n,
        "probes_per_second": probes / wall,
        "cpu_ms_per_probe": 1000 * cpu / probes,
        "cpu_share_of_one_core": cpu / wall,
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
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        asyncio.run(_drive(metrics, seconds))  # one scrape a second, as Prometheus would
        cpu = cpu_seconds(proc.pid) - cpu0
        wall = time.monotonic() - t0
        last = _get(metrics[0])
    probes = sum_samples(last, "ghost_probes_total") - sum_samples(first, "ghost_probes_total")
    return {
        "exporter": "ghost-exporter" if uvloop else "ghost-exporter (asyncio loop)",
        "targets": n,
        "probes_per_second": probes / wall,
        "cpu_ms_per_probe": 1000 * cpu / probes,
        "cpu_share_of_one_core": cpu / wall,
    }


def _get(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as resp:
        return str(resp.read().decode())


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


def run(base: str, tmp: Path, n: int = 200, seconds: float = 12.0) -> dict[str, Any]:
    blackbox = run_blackbox(base, n, seconds, tmp)
    ghost = run_ghost(base, n, seconds, tmp)
    plain = run_ghost(base, n, seconds, tmp, uvloop=False)
    return {
        "rows": [blackbox, ghost, plain],
        "ratio": ghost["cpu_ms_per_probe"] / blackbox["cpu_ms_per_probe"],
    }


if __name__ == "__main__":
    import json
    import tempfile

    from bench.exporter import target_server

    with tempfile.TemporaryDirectory() as name, target_server(Path(name)) as url:
        print(json.dumps(run(url, Path(name)), indent=2))
