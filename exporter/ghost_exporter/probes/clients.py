"""Shared client state of all probers: the keep-alive pool and the WebSocket client session."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Protocol, TypeVar

import aiohttp

from ghost_exporter import __version__
from ghost_exporter.probes.httpclient import ConnectionPool
from ghost_exporter.probes.tls import clear_client_contexts

USER_AGENT = f"ghost-exporter/{__version__}"

#: How long a WebSocket's close handshake may take, once the probe's verdict is known, before the
#: connection is dropped (a push-only peer that never reads never answers it).
WS_CLOSE_GRACE = 0.25


class Resource(Protocol):
    """Something a kind keeps open across probes (persistent connections), closed with the
    context."""

    async def aclose(self) -> None: ...


R = TypeVar("R", bound=Resource)


class ProbeContext:
    """Owns what probers share. HTTP probes open a fresh connection per probe (so connect time is
    measured, as blackbox_exporter does) unless a target asks for ``keepalive``, which draws from
    ``pool``. Create inside a running event loop; close with ``close()``."""

    def __init__(self) -> None:
        self.pool = ConnectionPool()
        self.websocket = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, force_close=True, use_dns_cache=False),
            timeout=aiohttp.ClientTimeout(total=None),
            headers={"User-Agent": USER_AGENT},
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        self._closing: set[asyncio.Task[None]] = set()
        self._resources: dict[str, Resource] = {}

    def close_websocket(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Close ``ws`` in the background, best effort: send the close frame, wait at most
        ``WS_CLOSE_GRACE`` for the peer's answer, then drop the connection. The probe does not
        wait for it, so closing never changes its verdict nor its duration."""
        if ws.closed:
            return
        task = asyncio.get_running_loop().create_task(_close_briefly(ws))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def wait_closing(self) -> None:
        """Wait until every WebSocket handed to ``close_websocket`` is closed."""
        while self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    def refresh_tls(self) -> None:
        """Forget TLS client contexts and the idle connections made with them, so that the next
        probes read ``ca_file``, ``cert_file`` and ``key_file`` anew (called on every config
        load)."""
        clear_client_contexts()
        self.pool.close_tls()

    def resource(self, name: str, factory: Callable[[], R]) -> R:
        """The context's one ``name`` resource, created by ``factory`` on first use."""
        found = self._resources.get(name)
        if found is None:
            found = self._resources[name] = factory()
        return found  # type: ignore[return-value]

    async def close(self) -> None:
        await self.wait_closing()
        for resource in self._resources.values():
            await resource.aclose()
        self._resources.clear()
        self.pool.close()
        await self.websocket.close()


async def _close_briefly(ws: aiohttp.ClientWebSocketResponse) -> None:
    # On a timeout (or any error) inside close(), aiohttp drops the connection itself.
    with contextlib.suppress(TimeoutError, aiohttp.ClientError, OSError):
        async with asyncio.timeout(WS_CLOSE_GRACE):
            await ws.close()
