"""``make run``'s entry point, ``python -m ghost_demo.stack``, from a wheel installed in a fresh
venv and started in a folder that is not the checkout: it finds its files in the package, starts
every program (the exporter answers /metrics), and stops them all on SIGTERM."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import ROOT, free_port, require_tool, wait_until

#: What a wheel is built from: the project's metadata, its code and the files the stack links to.
SOURCES = ("pyproject.toml", "README.md", "exporter", "examples", "alerts", "prometheus")
#: The ports the stack takes above its base port: the demo services, the stress daemon, control.
BASE_OFFSETS = (0, 1, 2, 3, 10)


@dataclass(frozen=True)
class Installed:
    python: Path
    wheel: Path


def _run(
    argv: list[str],
    timeout: float = 300,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> str:
    """Run to the end; stdout, or a failure showing everything the command printed."""
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd, env=env
    )
    assert done.returncode == 0, f"{argv}: {done.stdout}{done.stderr}"
    return done.stdout


def _clean_env() -> dict[str, str]:
    """The environment without anything that would put the checkout on the path."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """A wheel built from a copy of the tree, installed alone into a fresh venv; the other
    dependencies come from this interpreter's site-packages, added as a plain path (so that the
    checkout's editable install, a .pth file there, is not processed)."""
    tmp = tmp_path_factory.mktemp("installed")
    source = tmp / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("*.egg-info", "__pycache__", "build")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    wheels = tmp / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)])
    [wheel] = wheels.glob("ghost_exporter-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
          str(wheel)])  # fmt: skip
    purelib = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).strip()
    )
    (purelib / "_ghost_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return Installed(python, wheel)


def test_the_wheel_ships_the_stack_files_as_regular_files(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        for relative in (
            "examples/remediate.yml",
            "examples/remediate.token",
            "alerts/alertmanager.yml",
            "alerts/ghost-alerts.yml",
            "prometheus/prometheus.yml",
            "prometheus/rules/ghost-recording.yml",
        ):
            name = f"ghost_demo/stack_files/{relative}"
            assert name in names
            assert wheel.read(name) == (ROOT / relative).read_bytes(), relative


def _free_base() -> int:
    """A base port whose stack ports (base+0..3, base+10) were all free a moment ago, below the
    kernel's ephemeral range so that no outgoing connection takes one meanwhile."""
    rng = random.Random()
    for _ in range(100):
        base = rng.randrange(20000, 32000)
        with contextlib.ExitStack() as held:
            try:
                for offset in BASE_OFFSETS:
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", base + offset))
            except OSError:
                continue
            return base
    raise AssertionError("no free block of ports for the stack")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200 and b"ghost_service_up{" in response.read()
    except OSError:
        return False


@contextlib.contextmanager
def _started(argv: list[str], cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The stack in its own process group; the whole group is killed at the end whatever
    happened (the stack starts its programs in its own group)."""
    with (cwd / "stack.out").open("wb") as out:
        process = subprocess.Popen(
            argv, cwd=cwd, env=_clean_env(), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def test_make_run_starts_and_stops_from_an_installed_wheel(
    installed: Installed, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run([str(installed.python), "-c", "import ghost_demo.stack as s; print(s.__file__)"],
                 cwd=elsewhere, env=_clean_env())  # fmt: skip
    assert Path(where.strip()).is_relative_to(installed.python.parent.parent), where
    base, exporter, remediate = _free_base(), free_port(), free_port()
    argv = [
        str(installed.python), "-m", "ghost_demo.stack", "--run-dir", "run",
        f"--base-port={base}", f"--exporter-port={exporter}", f"--remediate-port={remediate}",
    ]  # fmt: skip
    with _started(argv, elsewhere) as stack:
        wait_until(
            lambda: _answers(f"http://127.0.0.1:{exporter}/metrics") or stack.poll() is not None,
            timeout=60,
        )
        output = (elsewhere / "stack.out").read_text(errors="replace")
        assert stack.poll() is None, output
        assert "ghost demo stack is up" in output
        with urllib.request.urlopen(f"http://127.0.0.1:{remediate}/metrics", timeout=5) as reply:
            assert reply.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{base + 3}/api/status", timeout=5) as reply:
            assert reply.status == 200
        stack.send_signal(signal.SIGTERM)
        code = stack.wait(timeout=30)
        output = (elsewhere / "stack.out").read_text(errors="replace")
        assert code == 0, output
        assert "exited with" not in output
        with pytest.raises(ProcessLookupError):
            os.killpg(stack.pid, 0)  # nothing of the stack's process group is left
    logs = elsewhere / "run" / "logs"
    assert {p.name for p in logs.iterdir()} == {
        "ghost-demo.log", "ghost-exporter.log", "ghost-remediate.log", "ghost-stress.log",
    }  # fmt: skip


def test_make_stack_configs_from_an_installed_wheel_pass_promtool_and_amtool(
    installed: Installed, tmp_path: Path
) -> None:
    """``--with-prometheus`` reads the shipped Prometheus and Alertmanager files; their rule files
    and token resolve inside the installed package."""
    promtool, amtool = require_tool("promtool"), require_tool("amtool")
    code = (
        "import sys; from pathlib import Path; from ghost_demo import stack\n"
        "out = Path(sys.argv[1])\n"
        "print(stack.prometheus_config(out, 19798, 19799))\n"
        "print(stack.alertmanager_config(out, 18787, 19799))\n"
        "print(stack.alertmanager_config(out, 8787, 9799))\n"
    )
    written = _run([str(installed.python), "-c", code, str(tmp_path)], cwd=tmp_path,
                   env=_clean_env()).split()  # fmt: skip
    prometheus, moved, committed = (Path(line) for line in written)
    site = installed.python.parent.parent
    assert committed.is_relative_to(site), committed
    _run([promtool, "check", "config", str(prometheus)], timeout=60)
    for alertmanager in (moved, committed):
        _run([amtool, "check-config", str(alertmanager)], timeout=60)
    assert str(ROOT) not in prometheus.read_text() + moved.read_text()
