"""Running the real promtool, amtool, prometheus and alertmanager binaries in the rule tests.

A missing binary skips the test (`make tools` installs them), or fails it when CI is "true". A
tool that exits non-zero fails the test with the tool's command line, stdout and stderr.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import free_port, require_tool

ROOT = Path(__file__).resolve().parents[3]
ALERTS_DIR = ROOT / "alerts"
PROMETHEUS_DIR = ROOT / "prometheus"
GENERATE = ALERTS_DIR / "generate.py"


@dataclass(frozen=True, slots=True)
class ToolResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def report(self) -> str:
        return (
            f"$ {' '.join(self.argv)}\nexit status {self.returncode}\n"
            f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )


def run_tool(name: str, *args: str, cwd: Path | None = None) -> ToolResult:
    """Run ``name`` with ``args``; never raises for a non-zero exit."""
    argv = (require_tool(name), *args)
    done = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=120, check=False)
    return ToolResult(argv, done.returncode, done.stdout, done.stderr)


def expect_success(name: str, *args: str, cwd: Path | None = None) -> ToolResult:
    """Run ``name``; an exit status other than 0 raises AssertionError with its output."""
    result = run_tool(name, *args, cwd=cwd)
    if result.returncode != 0:
        raise AssertionError(f"{name} failed\n{result.report()}")
    return result


def generate_rules(out: Path, *args: str) -> None:
    """alerts/generate.py ``args`` --out ``out``."""
    done = subprocess.run(
        [sys.executable, str(GENERATE), *args, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll ``url`` until it answers 200; fail with the process log if it exits or never does."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args!r} exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} never became ready:\n{log.read_text()}")


@dataclass(frozen=True, slots=True)
class Server:
    url: str
    log: Path


class Servers:
    """Starts binaries on free loopback ports; stops every one it started when the test ends."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._processes: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, args: Callable[[int], Sequence[str]], ready_path: str) -> Server:
        """Start ``name`` with ``args(port)`` and wait until ``ready_path`` answers 200."""
        port = free_port()
        log = self._workdir / f"{name}-{port}.log"
        argv = [require_tool(name), *args(port)]
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, cwd=self._workdir
            )
        self._processes.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_until_ready(url + ready_path, process, log)
        return Server(url, log)

    def stop(self) -> None:
        for process in self._processes:
            process.terminate()
        for process in self._processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    started = Servers(tmp_path)
    try:
        yield started
    finally:
        started.stop()
