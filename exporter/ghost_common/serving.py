"""Serving an aiohttp application: the listen address, the runner and its site, the signals
(SIGTERM and SIGINT stop, SIGHUP reloads) and the port file, written so that a reader never sees
a partial one.

``serve`` is the whole life of a server program; ``start`` and ``stop_signals`` are its parts for
programs that run more than one listener or handle signals their own way.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import ssl
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

from aiohttp import web

from ghost_common.addresses import split_host_port

__all__ = [
    "SHUTDOWN_TIMEOUT",
    "add_listen_flags",
    "bound_port",
    "parse_listen",
    "serve",
    "start",
    "stop_signals",
    "write_atomically",
    "write_port_file",
]

#: How long shutdown waits for open requests, by default.
SHUTDOWN_TIMEOUT = 0.5

Reload = Callable[[], Awaitable[object]]


def parse_listen(address: str) -> tuple[str | None, int]:
    """:func:`split_host_port` as an argparse type."""
    try:
        return split_host_port(address)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_listen_flags(parser: argparse.ArgumentParser, default: str, help: str) -> None:
    """``--web.listen-address`` (``args.listen``: host and port) and ``--web.port-file``
    (``args.port_file``), as the servers spell them."""
    parser.add_argument(
        "--web.listen-address",
        dest="listen",
        type=parse_listen,
        default=parse_listen(default),
        help=help,
    )
    parser.add_argument(
        "--web.port-file",
        dest="port_file",
        default=None,
        help="write the bound port to this file once listening (useful with port 0)",
    )


def write_atomically(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see either the old file or all of the new."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_port_file(path: str | Path, port: int) -> None:
    """The bound port and a newline, written atomically."""
    write_atomically(path, f"{port}\n")


def bound_port(runner: web.BaseRunner) -> int:
    """The port of the first socket the runner listens on."""
    for sockname in runner.addresses:
        if isinstance(sockname, tuple):
            return int(sockname[1])
    raise RuntimeError("the runner has no TCP socket")


async def start(
    app: web.Application,
    host: str | None,
    port: int,
    *,
    ssl_context: ssl.SSLContext | None = None,
    shutdown_timeout: float = SHUTDOWN_TIMEOUT,
    reuse_address: bool | None = None,
    backlog: int = 128,
) -> tuple[web.AppRunner, int]:
    """Start ``app`` on ``host:port`` (port 0 picks a free port); return the runner and the
    bound port. Raises OSError when the address cannot be bound, after cleaning up."""
    runner = web.AppRunner(
        app, access_log=None, shutdown_timeout=shutdown_timeout, handle_signals=False
    )
    await runner.setup()
    site = web.TCPSite(
        runner, host, port, ssl_context=ssl_context, reuse_address=reuse_address, backlog=backlog
    )
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, bound_port(runner)


@contextlib.contextmanager
def stop_signals(on_reload: Reload | None = None) -> Iterator[asyncio.Event]:
    """An event that SIGTERM or SIGINT sets while the block runs; SIGHUP starts ``on_reload``
    (when given). The handlers are removed at the end of the block."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    reloads: set[asyncio.Future[object]] = set()

    def reload() -> None:
        assert on_reload is not None
        task = asyncio.ensure_future(on_reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    signals = [signal.SIGTERM, signal.SIGINT]
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    if on_reload is not None:
        loop.add_signal_handler(signal.SIGHUP, reload)
        signals.append(signal.SIGHUP)
    try:
        yield stop
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)


async def serve(
    app: web.Application,
    listen: tuple[str | None, int],
    port_file: str | Path | None = None,
    on_reload: Reload | None = None,
    *,
    ssl_context: ssl.SSLContext | None = None,
    shutdown_timeout: float = SHUTDOWN_TIMEOUT,
    backlog: int = 128,
    on_listening: Callable[[int], None] | None = None,
    on_stop: Callable[[], None] | None = None,
) -> None:
    """Serve ``app`` on ``listen`` until SIGTERM or SIGINT; SIGHUP calls ``on_reload``.

    Once listening, ``on_listening`` gets the bound port and then the port goes to ``port_file``
    (the signals are handled from then on); ``on_stop`` runs when a signal asks to stop, before
    the open requests get ``shutdown_timeout`` seconds to finish. Raises OSError when the
    address cannot be bound."""
    host, port = listen
    runner, bound = await start(
        app,
        host,
        port,
        ssl_context=ssl_context,
        shutdown_timeout=shutdown_timeout,
        reuse_address=True,
        backlog=backlog,
    )
    try:
        with stop_signals(on_reload) as stop:
            if on_listening is not None:
                on_listening(bound)
            if port_file:
                write_port_file(port_file, bound)
            await stop.wait()
            if on_stop is not None:
                on_stop()
    finally:
        await runner.cleanup()
