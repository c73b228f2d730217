"""A fixed piece of Python work, timed in CPU seconds, to tell how much a busy machine inflates
the CPU time of the same work, apart from anything ghost-exporter does differently.

The work is what a probe does in the interpreter, without the network: parse a small HTTP
answer, decode its JSON, look a field up, format a few floats into exposition lines. It is run
in a process of its own, twice:

- in bursts, each followed by a 5 ms sleep, as an event loop does its work between wake-ups
  (each burst starts with whatever caches and TLB entries other processes left behind);
- back to back, without sleeping.

Each figure is the CPU time of one unit of work, in microseconds (``time.thread_time``, which
the kernel accounts in nanoseconds), median over the units.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 21\r\n"
    b"Date: Mon, 30 Nov 2026 21:00:00 GMT\r\nServer: Python/3.11 aiohttp/3.9\r\n\r\n"
    b'{"status": "healthy"}'
)
PHASES = {"resolve": 0.0, "connect": 1.2e-4, "processing": 5.1e-4, "transfer": 1.0e-5}


def unit() -> int:
    """One unit of fixed work; returns a length so that nothing is optimised away."""
    size = 0
    for _ in range(10):
        head, _, body = ANSWER.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        state = json.loads(body)["status"]
        text = "".join(
            f'ghost_probe_phase_seconds{{service="t{status}",phase="{k}"}} {v!r}\n'
            for k, v in PHASES.items()
        )
        size += len(text) + len(headers) + len(state)
    return size


def measure(units: int = 400, pause: float = 0.005) -> dict[str, float]:
    """CPU microseconds per unit, in bursts with a pause between them, and back to back."""
    for _ in range(50):
        unit()
    bursts = []
    for _ in range(units):
        time.sleep(pause)
        start = time.thread_time()
        unit()
        bursts.append(time.thread_time() - start)
    steady = []
    for _ in range(units):
        start = time.thread_time()
        unit()
        steady.append(time.thread_time() - start)
    return {
        "burst_us_per_unit": 1e6 * statistics.median(bursts),
        "steady_us_per_unit": 1e6 * statistics.median(steady),
    }


def run() -> dict[str, float]:
    """``measure()`` in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.contention"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


if __name__ == "__main__":
    print(json.dumps(measure()))
