"""Command patches: run a real command per patch in its own process group, bounded in time.

The command runs without a shell (split with shlex) unless ``shell`` is set, with GHOST_PATCH_ID
and GHOST_PATCH_SEQ in its environment. Exit 0 is completed, any other exit failed. Past the
timeout the whole process group gets SIGTERM, then SIGKILL after ``kill_grace``, and the patch
counts as a timeout. A cancelled patch (shutdown past its grace) has its group killed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import signal
import subprocess
from pathlib import Path

from .outputlog import OutputLog
from .patches import PatchResult, PatchRun

log = logging.getLogger(__name__)

#: How long the output log is read after the command exits, for output still in the pipe.
OUTPUT_TAIL_SECONDS = 1.0


def signal_group(pid: int, signum: int) -> bool:
    """Send ``signum`` to the process group led by ``pid``; False when the group is gone."""
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        return False
    return True


async def terminate_group(process: asyncio.subprocess.Process, grace: float) -> None:
    """SIGTERM the process group, SIGKILL it after ``grace``, and reap the leader."""
    signal_group(process.pid, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(grace):
            await process.wait()
    # Also reaches members that outlived a leader which obeyed SIGTERM.
    signal_group(process.pid, signal.SIGKILL)
    await process.wait()


class CommandPatches:
    """Each patch runs ``command``; ``log_dir`` None sends its output to /dev/null."""

    def __init__(
        self,
        command: str,
        *,
        shell: bool = False,
        timeout: float = 30.0,
        kill_grace: float = 2.0,
        log_dir: Path | None = None,
        log_max_bytes: int = 64 * 1024,
    ) -> None:
        self.command = command
        self.shell = shell
        self.argv = [] if shell else shlex.split(command)
        if not shell and not self.argv:
            raise ValueError("the command is empty")
        self.timeout = timeout
        self.kill_grace = kill_grace
        self.log_dir = log_dir
        self.log_max_bytes = log_max_bytes
        self._environ = dict(os.environ)
        self._spawn_errors = 0

    def begin(self, patch_id: str, seq: int) -> PatchRun:
        return self._run(patch_id, seq)

    async def _run(self, patch_id: str, seq: int) -> PatchResult:
        env = {**self._environ, "GHOST_PATCH_ID": patch_id, "GHOST_PATCH_SEQ": str(seq)}
        output = (
            None
            if self.log_dir is None
            else OutputLog(self.log_dir / f"{patch_id}.log", self.log_max_bytes)
        )
        try:
            process = await self._spawn(env, output)
        except OSError as exc:
            self._spawn_errors += 1
            if self._spawn_errors == 1:
                log.error("cannot run %r: %s", self.command, exc)
            if output is not None:
                output.close()
            return PatchResult(
                "failed", None, "spawn failure", f"cannot run {self.command!r}: {exc}"
            )
        if output is not None:
            output.close_write_end()
        try:
            return await self._wait(process)
        finally:
            if output is not None:
                await output.finish(OUTPUT_TAIL_SECONDS)

    async def _spawn(
        self, env: dict[str, str], output: OutputLog | None
    ) -> asyncio.subprocess.Process:
        sink: int = subprocess.DEVNULL if output is None else output.write_fd
        if self.shell:
            return await asyncio.create_subprocess_shell(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=sink,
                env=env,
                start_new_session=True,
            )
        return await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
            env=env,
            start_new_session=True,
        )

    async def _wait(self, process: asyncio.subprocess.Process) -> PatchResult:
        try:
            async with asyncio.timeout(self.timeout):
                code = await process.wait()
        except TimeoutError:
            await terminate_group(process, self.kill_grace)
            return PatchResult(
                "timeout",
                None,
                "timeout",
                f"still running after --timeout {self.timeout:g}s: process group terminated",
            )
        except asyncio.CancelledError:
            signal_group(process.pid, signal.SIGKILL)
            await process.wait()
            raise
        return PatchResult("completed" if code == 0 else "failed", code)
