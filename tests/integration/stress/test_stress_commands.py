"""Command patches in this process: exit codes, output logs, timeouts, cancellation."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from ghost_stress.command import CommandPatches
from ghost_stress.patches import PatchResult

from .conftest import alive, wait_gone


async def _run(patches: CommandPatches, seq: int = 1) -> PatchResult:
    run = patches.begin(f"p-{seq}", seq)
    assert not isinstance(run, PatchResult)
    return await run


async def test_exit_codes() -> None:
    assert await _run(CommandPatches("true")) == PatchResult("completed", 0)
    assert await _run(CommandPatches("sh -c 'exit 7'")) == PatchResult("failed", 7)
    assert await _run(CommandPatches("exit 3", shell=True)) == PatchResult("failed", 3)


async def test_a_command_that_cannot_start_fails() -> None:
    assert await _run(CommandPatches("/nonexistent/ghost-patch")) == PatchResult("failed", None)


async def test_output_log_is_capped_and_the_pipe_drained(tmp_path: Path) -> None:
    patches = CommandPatches(
        "sh -c 'echo $GHOST_PATCH_ID-$GHOST_PATCH_SEQ; head -c 1000000 /dev/urandom'",
        log_dir=tmp_path,
        log_max_bytes=100,
    )
    assert await _run(patches, seq=4) == PatchResult("completed", 0)
    data = (tmp_path / "p-4.log").read_bytes()
    assert len(data) == 100
    assert data.startswith(b"p-4-4\n")


async def test_a_background_process_holding_the_log_pipe_does_not_hold_the_patch(
    tmp_path: Path,
) -> None:
    patches = CommandPatches(
        f"sh -c 'sleep 30 & echo $! > {tmp_path}/bg; echo started'", log_dir=tmp_path / "logs"
    )
    (tmp_path / "logs").mkdir()
    began = time.monotonic()
    try:
        assert await _run(patches) == PatchResult("completed", 0)
        assert time.monotonic() - began < 5
        assert (tmp_path / "logs" / "p-1.log").read_text() == "started\n"
    finally:
        os.kill(int((tmp_path / "bg").read_text()), signal.SIGKILL)


async def test_timeout_kills_the_process_group(tmp_path: Path) -> None:
    patches = CommandPatches(
        f"sh -c 'trap \"\" TERM; sleep 30 & echo $! > {tmp_path}/bg; wait'",
        timeout=0.2,
        kill_grace=0.2,
    )
    began = time.monotonic()
    assert await _run(patches) == PatchResult("timeout", None)
    assert 0.2 <= time.monotonic() - began < 5
    assert await asyncio.to_thread(wait_gone, [int((tmp_path / "bg").read_text())]) == []


async def test_cancelling_a_patch_kills_its_group_at_once(tmp_path: Path) -> None:
    patches = CommandPatches(f"sh -c 'echo $$ > {tmp_path}/pid; exec sleep 30'")
    task = asyncio.ensure_future(_run(patches))
    pid_file = tmp_path / "pid"
    async with asyncio.timeout(5):
        while not pid_file.exists() or not pid_file.read_text():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    pid = int(pid_file.read_text())
    assert alive(pid)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(wait_gone, [pid]) == []
