"""Shared client state of all probers: the keep-alive pool and the WebSocket client session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

import aiohttp

from ghost_exporter import __version__
from ghost_exporter.probes.httpclient import ConnectionPool

USER_AGENT = f"ghost-exporter/{__version__}"


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
        self._resources: dict[str, Resource] = {}

    def resource(self, name: str, factory: Callable[[], R]) -> R:
        """The context's one ``name`` resource, created by ``factory`` on first use."""
        found = self._resources.get(name)
        if found is None:
            found = self._resources[name] = factory()
        return found  # type: ignore[return-value]

    async def close(self) -> None:
        for resource in self._resources.values():
            await resource.aclose()
        self._resources.clear()
        self.pool.close()
        await self.websocket.close()
