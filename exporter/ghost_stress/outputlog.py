"""A bounded log of one command's output: a pipe read by the event loop into a capped file.

The first ``limit`` bytes are written to the file; the rest are read and discarded, so the command
never blocks on a full pipe and memory use stays at one read buffer, whatever it prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

_READ_SIZE = 65536


class OutputLog:
    """Owns a pipe whose write end is handed to a child as its stdout and stderr."""

    def __init__(self, path: Path, limit: int) -> None:
        self._loop = asyncio.get_running_loop()
        self._limit = limit
        self.kept = 0
        self.discarded = 0
        self._read_fd, self.write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        self._file = path.open("wb")
        self._done: asyncio.Future[None] = self._loop.create_future()
        self._write_open = True
        self._loop.add_reader(self._read_fd, self._on_readable)

    def close_write_end(self) -> None:
        """Close the parent's copy of the write end once the child holds its own."""
        if self._write_open:
            self._write_open = False
            os.close(self.write_fd)

    def _on_readable(self) -> None:
        try:
            data = os.read(self._read_fd, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.close()
            return
        room = self._limit - self.kept
        if room > 0:
            kept = data[:room]
            self._file.write(kept)
            self.kept += len(kept)
            self.discarded += len(data) - len(kept)
        else:
            self.discarded += len(data)

    async def finish(self, timeout: float) -> None:
        """Wait up to ``timeout`` for the end of the output, then stop reading either way.

        A process the command left in the background may hold the pipe open; it is not waited
        for past the timeout (its further output is lost: it gets EPIPE).
        """
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await asyncio.shield(self._done)
        finally:
            self.close()

    def close(self) -> None:
        self.close_write_end()
        if self._done.done():
            return
        self._loop.remove_reader(self._read_fd)
        os.close(self._read_fd)
        self._file.close()
        self._done.set_result(None)
