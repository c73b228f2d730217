"""The bench's background load: busy processes on loopback only, stopped at the end of the block
or by themselves after their time bound."""

from __future__ import annotations

from pathlib import Path

from bench.load import background_load
from bench.procstat import counters

from tests.support import wait_until


def _inet_addresses(pid: int) -> list[str]:
    """The local and remote addresses (hex, as /proc/net/tcp writes them) of ``pid``'s sockets."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = str(fd.readlink()) if fd.is_symlink() else ""
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    out = []
    for table in ("tcp", "tcp6", "udp", "udp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                out += [fields[1].split(":")[0], fields[2].split(":")[0]]
    return out


LOOPBACK = "0100007F"  # 127.0.0.1
ANY = "00000000"  # the remote address of a listening socket


def test_load_runs_on_loopback_and_stops_with_the_block(tmp_path: Path) -> None:
    with background_load(tmp_path, workers=2, max_seconds=60) as procs:
        assert len(procs) == 3
        before = [counters(p.pid) for p in procs[1:]]

        def busy() -> bool:
            used = [counters(p.pid) - b for p, b in zip(procs[1:], before, strict=True)]
            # CPU, and blocking in the loopback round trips
            return all(u.cpu > 0.05 and u.voluntary_switches > 100 for u in used)

        wait_until(busy, timeout=20)
        addresses = [a for proc in procs for a in _inet_addresses(proc.pid)]
        assert addresses.count(LOOPBACK) >= 4  # each worker's connection, both ends
        assert set(addresses) <= {LOOPBACK, ANY}
    assert all(proc.poll() is not None for proc in procs)


def test_load_stops_by_itself_after_its_bound(tmp_path: Path) -> None:
    with background_load(tmp_path, workers=1, max_seconds=2) as procs:
        wait_until(lambda: all(proc.poll() is not None for proc in procs), timeout=20)
        assert [proc.returncode for proc in procs] == [0, 0]
