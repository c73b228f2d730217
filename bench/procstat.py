"""CPU time, RSS and scheduling counters of a process from /proc, and quantiles from
Prometheus histogram text."""

from __future__ import annotations

import os
import re
import socket
import time
from dataclasses import dataclass, fields
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid``."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


@dataclass(frozen=True, slots=True)
class Counters:
    """What a process has used so far: CPU seconds (user, system, of every thread), page faults,
    and context switches summed over its threads: voluntary ones are the times a thread blocked
    (an event loop going to sleep in epoll and being woken), involuntary ones the times the
    scheduler took the CPU away from a runnable thread."""

    user: float = 0.0
    system: float = 0.0
    minor_faults: float = 0.0
    major_faults: float = 0.0
    voluntary_switches: float = 0.0
    involuntary_switches: float = 0.0

    @property
    def cpu(self) -> float:
        return self.user + self.system

    def __sub__(self, other: Counters) -> Counters:
        return Counters(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(Counters)))


def counters(pid: int) -> Counters:
    """The counters of ``pid`` now."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    voluntary = involuntary = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        try:
            text = status.read_text()
        except OSError:  # a thread that ended meanwhile
            continue
        for line in text.splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                voluntary += int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches:"):
                involuntary += int(line.split()[1])
    return Counters(
        user=int(stat[11]) / ticks,
        system=int(stat[12]) / ticks,
        minor_faults=int(stat[7]),
        major_faults=int(stat[9]),
        voluntary_switches=voluntary,
        involuntary_switches=involuntary,
    )


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def histogram_buckets(text: str, name: str) -> list[tuple[float, float]]:
    """Cumulative (le, count) pairs of an unlabelled histogram in exposition text."""
    out = []
    for match in re.finditer(rf'^{name}_bucket{{le="([^"]+)"}} (\S+)$', text, re.M):
        out.append((float(match.group(1)), float(match.group(2))))
    return sorted(out)


def quantile(
    q: float, before: list[tuple[float, float]], after: list[tuple[float, float]]
) -> float:
    """histogram_quantile over the increase between two reads, as PromQL interpolates it."""
    delta = [(le, a - b) for (le, a), (_, b) in zip(after, before, strict=True)]
    if not delta or delta[-1][1] <= 0:
        return float("nan")
    rank = q * delta[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for le, count in delta:
        if count >= rank:
            if le == float("inf"):
                return lower_bound
            if count == lower_count:
                return le
            return lower_bound + (le - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = le, count
    return float("nan")


def sum_samples(text: str, name: str) -> float:
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}{{[^}}]*}} (\S+)$", text, re.M))


def free_port() -> int:
    """A loopback port that was free a moment ago, for servers that cannot report port 0."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def idle_share(seconds: float = 3.0) -> float:
    """The share of all CPUs' time that was idle over the next ``seconds`` (from /proc/stat)."""

    def read() -> tuple[int, int]:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        return values[3] + values[4], sum(values[:8])  # idle + iowait, all but guest time

    idle0, total0 = read()
    time.sleep(seconds)
    idle1, total1 = read()
    return (idle1 - idle0) / max(1, total1 - total0)
