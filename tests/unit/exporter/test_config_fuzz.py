"""Thousands of hostile configuration files: the loader refuses each with a ConfigError that says
where (the key, or the line for YAML syntax) and never shows a secret; a reload keeps the running
configuration; ``ghost-exporter validate`` exits 2 without a traceback."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ghost_exporter.config import Config, ConfigError, load_config
from ghost_exporter.exporter import Exporter
from tests.support import cli, run_exporter
from tests.unit.exporter.strategies import (
    BASE,
    SECRET,
    SECRET_ENV,
    Mutant,
    bombs,
    corrupted,
    render,
    structured,
)

#: Errors about the whole file, which have neither a key nor a line.
WHOLE_FILE = (
    "document too large",
    "document nested too deeply",
    "file larger than",
    "cannot read",
    "the file is empty",
)
TIMING_KEYS = frozenset({"interval", "timeout"})
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


@pytest.fixture(scope="module", autouse=True)
def secret_env() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SECRET_ENV, SECRET)
        yield


def _related(found: str, changed: str) -> bool:
    """The error names the changed key, one of its ancestors, or something inside it."""
    if not found:
        return False
    for a, b in ((found, changed), (changed, found)):
        if a == b or b.startswith((a + ".", a + "[")):
            return True
    last = found.rsplit(".", 1)[-1]
    changed_last = changed.rsplit(".", 1)[-1]
    return last in TIMING_KEYS and changed_last in TIMING_KEYS


def check_refusal(exc: ConfigError, mutant: Mutant) -> None:
    text = str(exc)
    assert exc.details, mutant.what
    assert SECRET not in text, (mutant.what, text)
    assert "Traceback" not in text
    for detail in exc.details:
        assert detail.message, (mutant.what, text)
        if not detail.path:
            assert detail.line is not None or detail.message.startswith(WHOLE_FILE), text
    if mutant.path is not None:
        assert all(d.line is not None for d in exc.details), (mutant.what, text)
        assert any(_related(d.path, w) for d in exc.details for w in mutant.where), (
            mutant.what,
            text,
        )


def load(path: Path, mutant: Mutant) -> Config | None:
    """Load a mutant: a Config, or None after checking the ConfigError. Anything else fails."""
    path.write_bytes(mutant.raw)
    try:
        return load_config(path)
    except ConfigError as exc:
        check_refusal(exc, mutant)
        return None


def test_the_base_file_is_valid(tmp_path: Path) -> None:
    config = load(tmp_path / "base.yml", Mutant(render(BASE), None, "base"))
    assert config is not None
    assert len(config.targets) == 4


@settings(FUZZ, max_examples=1200)
@given(mutant=structured())
def test_structured_mutations_are_refused_naming_the_key(
    tmp_path_factory: pytest.TempPathFactory, mutant: Mutant
) -> None:
    load(tmp_path_factory.getbasetemp() / "structured.yml", mutant)


@settings(FUZZ, max_examples=600)
@given(mutant=corrupted())
def test_corrupted_bytes_are_refused_naming_the_line(
    tmp_path_factory: pytest.TempPathFactory, mutant: Mutant
) -> None:
    load(tmp_path_factory.getbasetemp() / "corrupted.yml", mutant)


@settings(FUZZ, max_examples=12)
@given(mutant=bombs())
def test_yaml_bombs_and_oversize_files_are_refused(
    tmp_path_factory: pytest.TempPathFactory, mutant: Mutant
) -> None:
    assert load(tmp_path_factory.getbasetemp() / "bomb.yml", mutant) is None


def test_a_file_that_is_not_a_regular_file_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yml"
    os.mkfifo(fifo)
    for path in (fifo, tmp_path, tmp_path / "missing.yml"):
        with pytest.raises(ConfigError) as refused:
            load_config(path)
        assert str(refused.value).startswith(f"{path}: cannot read: ")


# --- reloads: the running configuration is kept ----------------------------------------------


class Running:
    """An Exporter started on the base file in an event loop of its own."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.loop = asyncio.new_event_loop()
        path.write_bytes(render(BASE))
        self.exporter = Exporter(path)
        self.loop.run_until_complete(self.exporter.start())

    def reload(self) -> ConfigError | None:
        return self.loop.run_until_complete(self.exporter.reload())

    def close(self) -> None:
        self.loop.run_until_complete(self.exporter.stop())
        self.loop.close()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    exporter = Running(tmp_path / "ghost.yml")
    try:
        yield exporter
    finally:
        exporter.close()


def _reload_ok(running: Running) -> float | None:
    return running.exporter.metrics.registry.get_sample_value(
        "ghost_exporter_config_last_reload_successful"
    )


def test_reload_with_any_mutant_keeps_the_running_config(running: Running) -> None:
    @settings(FUZZ, max_examples=200)
    @given(mutant=st.one_of(structured(), corrupted()))
    def reload_once(mutant: Mutant) -> None:
        before = running.exporter.config
        running.path.write_bytes(mutant.raw)
        try:
            expected: Config | None = load_config(running.path)
        except ConfigError:
            expected = None
        error = running.reload()
        if expected is None:
            assert error is not None, mutant.what
            check_refusal(error, mutant)
            assert running.exporter.config is before
            assert _reload_ok(running) == 0
        else:
            assert error is None, mutant.what
            assert running.exporter.config == expected
            assert _reload_ok(running) == 1

    reload_once()


def _flow_config(count: int) -> bytes:
    """One flow mapping: any strict prefix of it is a YAML syntax error."""
    services = ", ".join(f"{{name: s{i}, tcp: {{address: '127.0.0.1:9'}}}}" for i in range(count))
    return f"{{defaults: {{interval: 1h, timeout: 1s}}, services: [{services}]}}".encode()


def test_reload_of_a_file_being_rewritten_is_refused_or_whole(running: Running) -> None:
    first, second = _flow_config(120), _flow_config(150)
    running.path.write_bytes(first)
    assert running.reload() is None
    # Read while half written: refused, the running config kept.
    half = second[: len(second) // 2]
    running.path.write_bytes(half)
    kept = running.exporter.config
    error = running.reload()
    assert error is not None
    assert error.details[0].line is not None
    assert running.exporter.config is kept
    # Rewritten in small pieces while reloads run: every reload sees a whole file or refuses.
    stop = threading.Event()

    def rewrite() -> None:
        while not stop.is_set():
            for content in (first, second):
                with running.path.open("wb") as f:
                    for i in range(0, len(content), 512):
                        f.write(content[i : i + 512])
                        f.flush()

    writer = threading.Thread(target=rewrite)
    writer.start()
    try:
        for _ in range(60):
            before = running.exporter.config
            assert before is not None
            if running.reload() is None:
                assert running.exporter.config is not None
                assert len(running.exporter.config.targets) in (120, 150)
            else:
                assert running.exporter.config is before
    finally:
        stop.set()
        writer.join(10)


def test_reload_of_a_deleted_or_replaced_file_keeps_the_config(running: Running) -> None:
    kept = running.exporter.config
    running.path.unlink()
    error = running.reload()
    assert error is not None
    assert str(error) == f"{running.path}: cannot read: No such file or directory"
    assert running.exporter.config is kept
    running.path.mkdir()
    assert running.reload() is not None
    running.path.rmdir()
    os.mkfifo(running.path)
    assert running.reload() is not None
    assert running.exporter.config is kept
    assert _reload_ok(running) == 0


def test_a_reload_keeps_unchanged_targets_updating(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        port = listener.getsockname()[1]
        running = Running(tmp_path / "ghost.yml")
        try:
            running.path.write_text(
                f"services:\n  - name: t\n    interval: 200ms\n    timeout: 100ms\n"
                f"    tcp: {{address: '127.0.0.1:{port}'}}\n"
            )
            assert running.reload() is None
            running.loop.run_until_complete(asyncio.sleep(0.5))
            assert running.reload() is None  # the same file again: nothing changed
            before = _probes(running)
            running.loop.run_until_complete(asyncio.sleep(0.7))
            assert _probes(running) > before
        finally:
            running.close()


def _probes(running: Running) -> int:
    states = {s.target.name: s for s in running.exporter.store.states()}
    return states["t"].probes


# --- the command line and the HTTP reload on a sample ----------------------------------------


def _invalid_sample(size: int, tmp: Path) -> list[Mutant]:
    """``size`` distinct invalid mutants (drawn by hypothesis, checked in process)."""
    found: list[Mutant] = []

    @settings(max_examples=size * 4, deadline=None, database=None, derandomize=True)
    @given(mutant=st.one_of(structured(), corrupted()))
    def collect(mutant: Mutant) -> None:
        if len(found) < size and load(tmp / "sample.yml", mutant) is None:
            found.append(mutant)

    collect()
    assert len(found) == size
    return found


def test_validate_exits_2_without_traceback_on_a_sample(tmp_path: Path) -> None:
    sample = _invalid_sample(30, tmp_path)

    def validate(job: tuple[int, Mutant]) -> tuple[Mutant, subprocess.CompletedProcess[str]]:
        index, mutant = job
        path = tmp_path / f"bad-{index}.yml"
        path.write_bytes(mutant.raw)
        done = subprocess.run(
            [cli("ghost-exporter"), "validate", f"--config.file={path}"],
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
            timeout=60,
            env={**os.environ, SECRET_ENV: SECRET},
        )
        return mutant, done

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(validate, enumerate(sample)))
    for mutant, done in results:
        output = done.stdout + done.stderr
        assert done.returncode == 2, (mutant.what, output)
        assert done.stderr.startswith("invalid configuration:\n"), (mutant.what, output)
        assert "Traceback" not in output, (mutant.what, output)
        assert SECRET not in output


def test_http_reload_refuses_a_sample_and_keeps_serving(tmp_path: Path) -> None:
    sample = _invalid_sample(12, tmp_path)
    config = tmp_path / "ghost.yml"
    config.write_bytes(render(BASE))
    with run_exporter(config, tmp_path) as exporter:
        for mutant in sample:
            config.write_bytes(mutant.raw)
            status, body = exporter.post("/-/reload")
            assert status == 500, (mutant.what, body)
            assert body.startswith("config reload refused:\n"), body
            assert "Traceback" not in body
            assert SECRET not in body
            status, text = exporter.get("/metrics")
            assert status == 200
            assert "ghost_exporter_config_last_reload_successful 0.0" in text
            assert 'ghost_exporter_targets{kind="http"} 1.0' in text
            assert 'ghost_exporter_targets{kind="daemon"} 1.0' in text
        config.write_bytes(render(BASE))
        assert exporter.post("/-/reload")[0] == 200
    log = exporter.log.read_text(errors="replace")
    assert "Traceback" not in log
    assert SECRET not in log
    assert log.count("config reload refused") == len(sample)
