"""Shared client state of all probers: aiohttp sessions with phase tracing."""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import aiohttp

from ghost_exporter import __version__

USER_AGENT = f"ghost-exporter/{__version__}"


@dataclass(slots=True)
class PhaseClock:
    """perf_counter marks of one HTTP request, filled by the trace callbacks."""

    request_start: float = 0.0
    dns_start: float | None = None
    dns_end: float | None = None
    connect_start: float | None = None
    connect_end: float | None = None
    headers_received: float | None = None
    ssl_object: Any = None


def _marker(attr: str) -> Any:
    async def mark(session: aiohttp.ClientSession, ctx: SimpleNamespace, params: Any) -> None:
        clock = ctx.trace_request_ctx
        if isinstance(clock, PhaseClock):
            setattr(clock, attr, time.perf_counter())

    return mark


def _trace_config() -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()
    trace.on_dns_resolvehost_start.append(_marker("dns_start"))
    trace.on_dns_resolvehost_end.append(_marker("dns_end"))
    trace.on_connection_create_start.append(_marker("connect_start"))
    trace.on_connection_create_end.append(_marker("connect_end"))
    trace.on_request_end.append(_marker("headers_received"))
    return trace


class ProbeContext:
    """Owns the client sessions: one that opens a fresh connection per probe (so connect time is
    measured, as blackbox_exporter does) and one that keeps connections alive for targets that
    ask for ``keepalive``. Create inside a running event loop; close with ``close()``."""

    def __init__(self) -> None:
        timeout = aiohttp.ClientTimeout(total=None)
        headers = {"User-Agent": USER_AGENT}
        self.fresh = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, force_close=True, use_dns_cache=False),
            timeout=timeout,
            trace_configs=[_trace_config()],
            headers=headers,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=True,
        )
        self.keepalive = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=60),
            timeout=timeout,
            trace_configs=[_trace_config()],
            headers=headers,
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    def session(self, keepalive: bool) -> aiohttp.ClientSession:
        return self.keepalive if keepalive else self.fresh

    async def close(self) -> None:
        await self.fresh.close()
        await self.keepalive.close()
