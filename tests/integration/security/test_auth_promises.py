"""Basic auth promises of docs/security.md that the end-to-end web tests do not single out: the
unauthenticated paths match exactly, and an unknown user costs a bcrypt check like a known one."""

from __future__ import annotations

import asyncio
from pathlib import Path

import bcrypt
from aiohttp import web
from tests.integration.security.conftest import HASH, PASSWORD, basic
from tests.support import start_app

from ghost_common.webconfig import BasicAuth, apply_web_config, load_web_config


async def _raw_get(port: int, target: str) -> tuple[int, bytes]:
    """Status and body of ``GET target`` sent as written (no client normalises the path)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        answer = await reader.read()
        head, _, body = answer.partition(b"\r\n\r\n")
        return int(head.split()[1]), body
    finally:
        writer.close()


async def test_unauthenticated_paths_match_the_route_path_exactly(tmp_path: Path) -> None:
    config = tmp_path / "web.yml"
    config.write_text(
        f"basic_auth_users: {{alice: '{HASH}'}}\nghost_unauthenticated_paths: [/-/healthy]\n"
    )

    async def healthy(request: web.Request) -> web.Response:
        return web.Response(text="the open route\n")

    async def other(request: web.Request) -> web.Response:
        return web.Response(text="another route\n")

    app = web.Application()
    apply_web_config(app, load_web_config(config))
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/healthy/", other)
    app.router.add_get("/{tail:.*}", other)
    runner, url = await start_app(app)
    try:
        port = int(url.rsplit(":", 1)[1])
        assert await _raw_get(port, "/-/healthy") == (200, b"the open route\n")
        assert await _raw_get(port, "/metrics") == (401, b"Unauthorized\n")
        # Each of these either reaches the open route itself or needs credentials.
        for tricky in (
            "/-/%68ealthy", "/-/healthy/", "//-/healthy", "/-/healthy/../metrics",
            "/-/healthy%2F..%2Fmetrics", "/-/healthy?x=/metrics", "/-/HEALTHY",
        ):  # fmt: skip
            status, body = await _raw_get(port, tricky)
            assert (status, body) in ((200, b"the open route\n"), (401, b"Unauthorized\n")), tricky
            assert b"another route" not in body
    finally:
        await runner.cleanup()


async def test_an_unknown_user_is_checked_against_a_decoy_of_the_same_cost() -> None:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(5))
    auth = BasicAuth({"alice": hashed})
    assert await auth.check(basic("mallory", PASSWORD)) is False
    assert auth.decoy[:7] == hashed[:7] == b"$2b$05$"
    assert len(auth._cache) == 1  # a bcrypt verdict was computed and cached, as for a known user
    assert await auth.check(basic("alice", "wrong")) is False
    assert len(auth._cache) == 2
