"""A reproducible background load of the kinds of work a shared host runs, for ``make bench``.

``background_load()`` starts one loopback echo server and ``workers`` worker processes; each
worker cycles through three slices of fixed length, the same in every run:

- cpu: interpreter work (building, sorting and hashing small objects), as a test suite does;
- memory: writes one byte in every page of a 64 MiB buffer in a scrambled order, which evicts
  other processes' cache lines and TLB entries, as a build or a database does;
- io: small request/answer round trips with the echo server over loopback TCP, each one a
  wake-up of two processes, as the HTTP servers and clients of integration tests do.

Everything is on 127.0.0.1 and bounded in time: each process exits by itself after
``max_seconds``, and the context manager stops every process it started when it ends.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

#: Length of each slice of a worker's cycle, in seconds.
SLICE = 0.02
MEMORY_BYTES = 64 * 1024 * 1024
PAGE = 4096
MESSAGE = b"x" * 512


def _cpu(until: float) -> None:
    while time.monotonic() < until:
        items = [(i * 7919) % 1009 for i in range(2000)]
        items.sort()
        hashlib.sha256(repr(items).encode()).digest()


def _memory(buffer: bytearray, until: float, start: int) -> int:
    pages = len(buffer) // PAGE
    index = start
    while time.monotonic() < until:
        for _ in range(256):
            index = (index * 1103515245 + 12345) % pages  # a fixed, scrambled walk
            buffer[index * PAGE] = (buffer[index * PAGE] + 1) & 0xFF
    return index


def _io(sock: socket.socket, until: float) -> None:
    while time.monotonic() < until:
        sock.sendall(MESSAGE)
        received = 0
        while received < len(MESSAGE):
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("echo server went away")
            received += len(chunk)


def worker(port: int, max_seconds: float) -> None:
    """Cycle cpu, memory and io slices until ``max_seconds`` have passed."""
    deadline = time.monotonic() + max_seconds
    buffer = bytearray(MEMORY_BYTES)
    index = 1
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while time.monotonic() < deadline:
            now = time.monotonic()
            _cpu(now + SLICE)
            index = _memory(buffer, now + 2 * SLICE, index)
            _io(sock, now + 3 * SLICE)


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while data := self.request.recv(65536):
            self.request.sendall(data)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def echo_server(port_file: Path, max_seconds: float) -> None:
    with _Server(("127.0.0.1", 0), _Echo) as server:
        partial = port_file.with_suffix(".tmp")
        partial.write_text(f"{server.server_address[1]}\n")
        os.replace(partial, port_file)
        deadline = time.monotonic() + max_seconds
        threading.Thread(target=server.serve_forever, daemon=True).start()
        while time.monotonic() < deadline:
            time.sleep(0.5)
        server.shutdown()


@contextmanager
def background_load(
    tmp: Path, workers: int = 4, max_seconds: float = 300.0
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``workers`` worker processes and their echo server (all of them yielded, the server
    first), running until the block ends or ``max_seconds`` have passed."""
    from bench.exporter import process  # not imported by the workers themselves

    base = [sys.executable, "-m", "bench.load"]
    port_file = tmp / "load-echo.port"
    with ExitStack() as stack:
        server, port = stack.enter_context(
            process(
                [*base, f"--max-seconds={max_seconds + 10}", f"--echo-port-file={port_file}"],
                port_file,
            )
        )
        procs: list[subprocess.Popen[bytes]] = []
        for _ in range(workers):
            argv = [*base, f"--max-seconds={max_seconds}", f"--worker={port}"]
            proc, _ = stack.enter_context(process(argv, None))
            procs.append(proc)
        time.sleep(2.0)  # every worker past its start-up
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"background load worker exited with {proc.returncode}")
        yield [server, *procs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--worker", type=int, metavar="ECHO_PORT", help="run one worker")
    group.add_argument("--echo-port-file", type=Path, help="run the echo server")
    args = parser.parse_args()
    if args.worker is not None:
        worker(args.worker, args.max_seconds)
    else:
        echo_server(args.echo_port_file, args.max_seconds)


if __name__ == "__main__":
    main()
