"""Fixtures for probing real loopback servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from ghost_exporter.config import Target, parse_config
from ghost_exporter.probes import ProbeContext, ProbeResult
from ghost_exporter.probes.timeout import run_probe

ProbeFn = Callable[..., Awaitable[ProbeResult]]


def target_from(snippet: str, timeout: str = "2s") -> Target:
    """A single service from its YAML body (indented under ``- name: t``)."""
    text = f"services:\n  - name: t\n    interval: 10s\n    timeout: {timeout}\n{snippet}"
    return parse_config(text).targets[0]


@pytest.fixture
async def ctx() -> AsyncIterator[ProbeContext]:
    context = ProbeContext()
    yield context
    await context.close()


@pytest.fixture
def probe(ctx: ProbeContext) -> ProbeFn:
    async def _probe(snippet: str, timeout: str = "2s") -> ProbeResult:
        return await run_probe(target_from(snippet, timeout), ctx)

    return _probe


def health_app() -> web.Application:
    """Targets for exporter processes: ``GET /health?state=S`` answers ``{"status": S}``
    (``healthy`` without the parameter)."""

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": request.query.get("state", "healthy")})

    app = web.Application()
    app.router.add_get("/health", health)
    return app
