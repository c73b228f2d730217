"""Fixtures for ghost-stress integration tests: real processes and real servers on loopback.

Every process is started in its own session and its whole group is killed at teardown, so a
failing test leaves neither the daemon nor the commands it ran behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
from aiohttp import web

from ghost_stress.summary import load_schema

STRESS = [sys.executable, "-m", "ghost_stress.cli"]


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def wait_gone(pids: list[int], timeout: float = 5.0) -> list[int]:
    """Wait for every pid to be gone; return the ones still alive after ``timeout``."""
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


@dataclass
class Stress:
    """A running ``ghost-stress`` process."""

    process: subprocess.Popen[str]
    port_file: Path

    def port(self, timeout: float = 10.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.port_file.exists():
                return int(self.port_file.read_text())
            if self.process.poll() is not None:
                _, err = self.process.communicate()
                raise AssertionError(f"ghost-stress exited {self.process.returncode}: {err}")
            time.sleep(0.02)
        raise AssertionError("ghost-stress did not write its port file")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port()}{path}"

    def finish(self, timeout: float = 30.0) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out, err

    def summary(self, timeout: float = 30.0) -> tuple[int, dict[str, Any], str]:
        code, out, err = self.finish(timeout)
        assert out.strip(), f"no JSON on stdout (exit {code}): {err}"
        return code, validate_summary(json.loads(out)), err


def validate_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """Check a ``--json`` summary against the schema that ships with ghost-stress."""
    jsonschema.Draft202012Validator(
        load_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(summary)
    return summary


def json_summary(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The ``--json`` summary on a finished run's stdout, checked against the schema."""
    assert result.stdout.strip(), f"no JSON on stdout (exit {result.returncode}): {result.stderr}"
    return validate_summary(json.loads(result.stdout))


def _kill_group(process: subprocess.Popen[str]) -> None:
    """Kill the process and whatever it left in its process group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait(timeout=10)


@pytest.fixture
def stress(tmp_path: Path) -> Iterator[Callable[..., Stress]]:
    """Start ``ghost-stress ARGS...`` with a port file; killed (with its group) at teardown."""
    started: list[subprocess.Popen[str]] = []

    def start(*args: str, listen: bool = True) -> Stress:
        port_file = tmp_path / f"port-{len(started)}"
        argv = [*STRESS, *args]
        if listen:
            argv += ["--listen", "127.0.0.1:0", "--port-file", str(port_file)]
        process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            cwd=tmp_path,
        )
        started.append(process)
        return Stress(process, port_file)

    try:
        yield start
    finally:
        for process in started:
            _kill_group(process)


def run_stress(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run ``ghost-stress ARGS...`` to the end (no status API)."""
    return subprocess.run(
        [*STRESS, *args, "--listen", "none"],
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
        check=False,
    )


@pytest.fixture
def run() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_stress


@dataclass
class StatusApi:
    """A status API stand-in whose availability the test controls: up, slow or down."""

    port: int = 0
    mode: str = "up"
    delay: float = 1.0
    received: list[dict[str, Any]] = field(default_factory=list)
    runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/patches"

    async def _post(self, request: web.Request) -> web.Response:
        if self.mode == "slow":
            await asyncio.sleep(self.delay)
        self.received.append(await request.json())
        return web.json_response({"ok": True}, status=202)

    async def up(self) -> None:
        if self.runner is not None:
            return
        app = web.Application()
        app.router.add_post("/api/patches", self._post)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port)
        await site.start()
        self.port = runner.addresses[0][1]
        self.runner = runner

    async def down(self) -> None:
        runner, self.runner = self.runner, None
        if runner is not None:
            await runner.cleanup()


@pytest.fixture
async def status_api() -> AsyncIterator[StatusApi]:
    api = StatusApi()
    await api.up()
    try:
        yield api
    finally:
        await api.down()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session
