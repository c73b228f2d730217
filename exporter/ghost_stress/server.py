"""Serving an aiohttp application on one listen address, and port files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from aiohttp import web

from .units import ListenAddress

#: How long shutdown waits for open requests; WebSockets are closed by the application itself.
SHUTDOWN_TIMEOUT = 1.0


async def serve(app: web.Application, address: ListenAddress) -> tuple[web.AppRunner, int]:
    """Start ``app`` on ``address`` (port 0 picks a free port); return the runner and bound port.

    Raises OSError when the address cannot be bound, after cleaning up.
    """
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    site = web.TCPSite(runner, address.host, address.port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, bound_port(runner)


def bound_port(runner: web.BaseRunner) -> int:
    """The port of the first socket the runner listens on."""
    for sockname in runner.addresses:
        if isinstance(sockname, tuple):
            return int(sockname[1])
    raise RuntimeError("the runner has no TCP socket")


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see either nothing or all of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
