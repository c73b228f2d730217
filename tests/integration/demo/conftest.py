"""A real ``ghost-demo`` process on loopback, with every port picked by the system."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

SERVICES = ("dual-monitor", "telemetry-api", "status-api")
SLOW_DELAY = 0.4
TELEMETRY_INTERVAL = 0.2


@dataclass
class DemoProcess:
    process: subprocess.Popen[str]
    ports: dict[str, int]

    def url(self, service: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}{path}"

    def ws_url(self, service: str, path: str = "/ws") -> str:
        return f"ws://127.0.0.1:{self.ports[service]}{path}"

    def control(self, method: str, path: str, body: object = None) -> Any:
        """Call the control listener; returns the decoded JSON answer (errors included)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url("control", path), data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            return {"http_status": exc.code, **json.load(exc)}

    def heal_all(self) -> None:
        for service in SERVICES:
            self.control("DELETE", f"/-/fault/{service}")


def start_demo(tmp_path: Path, *extra: str) -> DemoProcess:
    port_file = tmp_path / "ports.json"
    argv = [sys.executable, "-m", "ghost_demo.cli", "--base-port", "0"]
    argv += ["--port-file", str(port_file), "--log-level", "warning"]
    argv += ["--telemetry-interval", f"{TELEMETRY_INTERVAL}s", "--slow-delay", f"{SLOW_DELAY}s"]
    process = subprocess.Popen(
        [*argv, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 15
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"ghost-demo did not start: {stop_demo(process)}")
        time.sleep(0.02)
    return DemoProcess(process, json.loads(port_file.read_text()))


def stop_demo(process: subprocess.Popen[str]) -> str:
    """Kill the process if it still runs; return what it wrote on stderr."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    return process.communicate(timeout=10)[1]


@pytest.fixture(scope="module")
def demo_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoProcess]:
    demo = start_demo(tmp_path_factory.mktemp("demo"))
    try:
        yield demo
    finally:
        stop_demo(demo.process)


@pytest.fixture
def demo(demo_process: DemoProcess) -> Iterator[DemoProcess]:
    """The shared demo process, every service healed after the test."""
    try:
        yield demo_process
    finally:
        demo_process.heal_all()


@pytest.fixture
def own_demo(tmp_path: Path) -> Iterator[Callable[..., DemoProcess]]:
    """Start a demo process of the test's own (for stopping it)."""
    started: list[DemoProcess] = []

    def start(*extra: str) -> DemoProcess:
        demo = start_demo(tmp_path, *extra)
        started.append(demo)
        return demo

    try:
        yield start
    finally:
        for demo in started:
            stop_demo(demo.process)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        yield session
