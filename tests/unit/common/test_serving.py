"""ghost_common.serving: listen addresses, the atomic port file, and serve() with real signals."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from ghost_common.serving import parse_listen, serve, start, write_atomically, write_port_file


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (":9798", (None, 9798)),
        ("127.0.0.1:0", ("127.0.0.1", 0)),
        ("[::1]:9799", ("::1", 9799)),
        ("localhost:65535", ("localhost", 65535)),
    ],
)
def test_parse_listen(text: str, expected: tuple[str | None, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["9798", "host:", "host:http", ":65536", ":-1", "::1:9798"])
def test_parse_listen_refuses(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="use HOST:PORT"):
        parse_listen(text)


def test_write_atomically_replaces_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "run" / "ports.json"
    write_atomically(path, "old\n")
    write_port_file(path, 8787)
    assert path.read_text() == "8787\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["ports.json"]


async def test_start_reports_the_bound_port_and_refuses_a_taken_one() -> None:
    app = web.Application()
    app.router.add_get("/", _ok)
    runner, port = await start(app, "127.0.0.1", 0)
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/") as response,
        ):
            assert await response.text() == "ok"
        with pytest.raises(OSError, match="in use"):
            await start(web.Application(), "127.0.0.1", port)
    finally:
        await runner.cleanup()


async def test_serve_reloads_on_sighup_and_stops_on_sigterm(tmp_path: Path) -> None:
    app = web.Application()
    app.router.add_get("/", _ok)
    reloads: list[int] = []
    events: list[str] = []
    listening = asyncio.Event()

    def on_listening(port: int) -> None:
        events.append(f"listening {port}")
        listening.set()

    async def reload() -> None:
        reloads.append(len(reloads))

    port_file = tmp_path / "port"
    task = asyncio.create_task(
        serve(
            app,
            ("127.0.0.1", 0),
            port_file,
            reload,
            on_listening=on_listening,
            on_stop=lambda: events.append("stopping"),
        )
    )
    try:
        await asyncio.wait_for(listening.wait(), 10)
        await asyncio.sleep(0)  # serve() goes on to write the port file and wait for a signal
        port = int(await asyncio.to_thread(port_file.read_text))
        assert events == [f"listening {port}"]
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/") as response,
        ):
            assert await response.text() == "ok"
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(500):
            if reloads:
                break
            await asyncio.sleep(0.01)
        assert reloads == [0]
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(task, 10)
    finally:
        task.cancel()
    assert events == [f"listening {port}", "stopping"]
    # The handlers are gone with the server: the listener is closed, SIGHUP is the default again.
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as session:
            await session.get(f"http://127.0.0.1:{port}/")
