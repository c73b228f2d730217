"""ghost-stress throughput and status API latency on loopback.

Three measurements, side by side in one run (about 5 s):

- simulated patches of zero duration through the daemon's accounting, in patches per second
  (``ghost-stress run --duration 0``; the rate is ``total / wall_seconds`` of its JSON summary);
- real command patches (``--command true --concurrency 16``) against ``xargs -P 16`` running
  ``true`` as many times, and their ratio;
- the p99 latency of ``GET /api/status`` while each ghost-stress run is under way, polled every
  few milliseconds.

``wall_seconds`` is measured by ghost-stress itself, from the first patch to the last, so the
interpreter's start-up is not counted; xargs is timed from outside, which adds its own (tiny)
start-up.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import time
from typing import Any

import aiohttp

SIMULATED_PATCHES = 200_000
SIMULATED_CONCURRENCY = 256
COMMAND_PATCHES = 2_000
COMMAND_CONCURRENCY = 16
POLL_INTERVAL = 0.005
RUN_TIMEOUT = 45.0


def run() -> dict[str, float]:
    """Run every measurement; the keys name the figure and its unit."""
    simulated_args = ["--patches", str(SIMULATED_PATCHES), "--duration", "0"]
    simulated = asyncio.run(
        _ghost_stress(*simulated_args, "--concurrency", str(SIMULATED_CONCURRENCY))
    )
    command_args = ["--patches", str(COMMAND_PATCHES), "--command", "true"]
    commands = asyncio.run(_ghost_stress(*command_args, "--concurrency", str(COMMAND_CONCURRENCY)))
    xargs_rate = _xargs_rate(COMMAND_PATCHES, COMMAND_CONCURRENCY)
    return {
        "simulated_patches_per_s": simulated["rate"],
        "simulated_status_p99_ms": simulated["p99_ms"],
        "command_patches_per_s": commands["rate"],
        "xargs_per_s": xargs_rate,
        "command_vs_xargs_ratio": commands["rate"] / xargs_rate,
        "command_status_p99_ms": commands["p99_ms"],
    }


async def _ghost_stress(*args: str) -> dict[str, float]:
    """Run ``ghost-stress run ARGS --json`` while polling its status API."""
    argv = [sys.executable, "-m", "ghost_stress.cli", "run", *args, "--json"]
    process = await asyncio.create_subprocess_exec(
        *argv,
        "--listen",
        "127.0.0.1:0",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(RUN_TIMEOUT):
            url = await _status_url(process)
            output = asyncio.ensure_future(process.communicate())
            latencies = await _poll(url, output)
            stdout, _ = await output
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"ghost-stress {' '.join(args)} exited {process.returncode}")
    summary: dict[str, Any] = json.loads(stdout)
    return {
        "rate": summary["total"] / summary["wall_seconds"],
        "p99_ms": _p99(latencies) * 1000,
    }


async def _status_url(process: asyncio.subprocess.Process) -> str:
    """The status URL from the ``listening on http://HOST:PORT`` line ghost-stress prints."""
    assert process.stderr is not None
    while line := (await process.stderr.readline()).decode():
        if line.startswith("listening on "):
            return line.removeprefix("listening on ").strip() + "/api/status"
    raise RuntimeError("ghost-stress exited before it listened")


async def _poll(url: str, output: asyncio.Future[Any]) -> list[float]:
    """Latencies of GET ``url`` every POLL_INTERVAL until the process is done."""
    latencies: list[float] = []
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while not output.done():
            began = time.perf_counter()
            try:
                async with session.get(url) as response:
                    await response.read()
            except aiohttp.ClientError:
                break  # the run is over and the API is gone
            latencies.append(time.perf_counter() - began)
            await asyncio.sleep(POLL_INTERVAL)
    return latencies


def _p99(samples: list[float]) -> float:
    if not samples:
        return math.nan
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def _xargs_rate(count: int, parallel: int) -> float:
    lines = "".join(f"{index}\n" for index in range(count))
    began = time.perf_counter()
    subprocess.run(
        ["xargs", "-P", str(parallel), "-n", "1", "true"],
        input=lines,
        text=True,
        check=True,
        timeout=RUN_TIMEOUT,
    )
    return count / (time.perf_counter() - began)


if __name__ == "__main__":
    for name, value in run().items():
        print(f"{name:28} {value:12.2f}")
