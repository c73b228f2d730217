"""Root fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from tests.support import start_app

ServeFn = Callable[[web.Application], Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[ServeFn]:
    """Start aiohttp apps on 127.0.0.1:0; every one is stopped at the end of the test."""
    runners: list[web.AppRunner] = []

    async def _serve(app: web.Application) -> str:
        runner, url = await start_app(app)
        runners.append(runner)
        return url

    yield _serve
    for runner in runners:
        await runner.cleanup()
