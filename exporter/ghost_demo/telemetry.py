"""telemetry-api: ``/health`` and a WebSocket ``/ws`` pushing timestamped telemetry.

A client gets a message as soon as it connects, then one every interval. Messages look like
``{"type": "telemetry", "ts": 1732400000.5, "seq": 42, "service": "telemetry-api", ...}``; in the
``stale`` fault mode ``ts`` lags the clock by the stale age (60 s by default). Whatever a client
sends (such as ``{"type": "subscribe"}``) is ignored.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ghost_common.hub import Hub

from .base import SERVICE, base_app
from .faults import FaultDefaults, FaultMode
from .service import Service


@dataclass(frozen=True, slots=True)
class TelemetrySettings:
    interval: float = 1.0
    stale_age: float = 60.0


class TelemetryFeed:
    """Builds the telemetry messages of one service; the sequence survives restarts."""

    def __init__(self, service_name: str, settings: TelemetrySettings) -> None:
        self.settings = settings
        self.service_name = service_name
        self._seq = itertools.count(1)

    def message(self, service: Service) -> dict[str, Any]:
        now = time.time()
        stale = service.fault.mode is FaultMode.STALE
        uptime = service.uptime_seconds
        return {
            "type": "telemetry",
            "ts": now - self.settings.stale_age if stale else now,
            "seq": next(self._seq),
            "service": self.service_name,
            "uptime_seconds": uptime,
            "cpu_percent": round(35 + 25 * math.sin(uptime / 30), 2),
            "memory_bytes": 256 * 1024 * 1024 + int(uptime) % 4096 * 1024,
        }


FEED = web.AppKey("feed", TelemetryFeed)
HUB = web.AppKey("telemetry_hub", Hub)


def create_app(service: Service, feed: TelemetryFeed, defaults: FaultDefaults) -> web.Application:
    app = base_app(service, defaults)
    app[FEED] = feed
    app[HUB] = Hub()
    app.cleanup_ctx.append(_ticker)
    app.on_shutdown.append(_close_websockets)
    app.router.add_get("/ws", websocket)
    return app


async def _ticker(app: web.Application) -> AsyncIterator[None]:
    async def tick() -> None:
        feed, hub, service = app[FEED], app[HUB], app[SERVICE]
        while True:
            await asyncio.sleep(feed.settings.interval)
            if hub.client_count:
                hub.publish(feed.message(service))

    task = asyncio.create_task(tick())
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _close_websockets(app: web.Application) -> None:
    await app[HUB].close_all()


async def websocket(request: web.Request) -> web.WebSocketResponse:
    app = request.app
    return await app[HUB].serve(request, greeting=app[FEED].message(app[SERVICE]))
