"""Helpers shared by the tests: loopback servers, our CLIs as subprocesses, required tools."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def require_tool(name: str) -> str:
    """The path of a tool the test needs; missing is a failure under CI, a skip elsewhere."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (make test installs it with apt-get)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    """A loopback port that was free a moment ago (for servers that cannot report port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cli(name: str) -> str:
    """A console script of this project, from the running interpreter's environment."""
    path = BIN / name
    return str(path) if path.exists() else name


async def start_app(
    app: web.Application, ssl_context: ssl.SSLContext | None = None
) -> tuple[web.AppRunner, str]:
    """Serve an aiohttp app on 127.0.0.1, port 0 (over TLS with ``ssl_context``); returns the
    runner and the base URL."""
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    port = runner.addresses[0][1]
    scheme = "https" if ssl_context is not None else "http"
    return runner, f"{scheme}://127.0.0.1:{port}"


def wait_for_file(path: Path, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        if proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode} before it was ready")
        time.sleep(0.05)
    raise AssertionError(f"{path} did not appear within {timeout}s")


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> int:
    """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def get(self, path: str, timeout: float = 10.0) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def post(self, path: str, data: bytes = b"", timeout: float = 10.0) -> tuple[int, str]:
        request = urllib.request.Request(self.url + path, data=data, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


@contextmanager
def run_exporter(config: Path, tmp: Path, extra: Sequence[str] = ()) -> Iterator[Running]:
    """``ghost-exporter`` as a real subprocess on an ephemeral loopback port; always stopped."""
    port_file = tmp / "exporter.port"
    log = tmp / "exporter.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                cli("ghost-exporter"),
                f"--config.file={config}",
                "--web.listen-address=127.0.0.1:0",
                f"--web.port-file={port_file}",
                *extra,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        port = wait_for_file(port_file, proc)
        yield Running(proc, f"http://127.0.0.1:{port}", log)
    finally:
        stop_process(proc)


def rss_bytes(pid: int) -> int:
    """Resident memory of a running process (bytes)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def wait_until(predicate: object, timeout: float = 15.0, interval: float = 0.1) -> None:
    """Poll ``predicate()`` until it is truthy; fail with its last value after ``timeout``."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


class ThreadedServer:
    """An aiohttp app served from its own thread and event loop, for tests that block."""

    def __init__(self, app: web.Application, ssl_context: ssl.SSLContext | None = None) -> None:
        self.app = app
        self.ssl_context = ssl_context
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._runner: web.AppRunner | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._runner, self.url = self._loop.run_until_complete(
            start_app(self.app, self.ssl_context)
        )
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        pending = asyncio.all_tasks(self._loop)  # handlers still running: cancel, then wait
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise AssertionError("test server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@contextmanager
def run_process(
    argv: Sequence[str], tmp: Path, name: str, port_file: Path | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """One of our CLIs as a subprocess; yields it and the content of its port file."""
    log = tmp / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT)
    try:
        content = wait_for_file(port_file, proc) if port_file is not None else ""
        yield proc, content
    finally:
        stop_process(proc)


def assert_promtool_accepts(text: str) -> None:
    """``promtool check metrics`` on exposition text: it must exit 0 and report nothing."""
    checked = subprocess.run(
        [require_tool("promtool"), "check", "metrics"],
        input=text.encode(),
        capture_output=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.decode() + checked.stderr.decode() == ""
