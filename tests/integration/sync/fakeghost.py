"""A small fake ghost for reporter and pipeline tests, served for real on loopback.

- ``GET /health/{name}``: ``{"status": STATE}`` from ``health`` (``down``: a 503 answer)
- ``GET /api/services/status``: ``{"services": {name: {"status": claim}}}`` from ``claims``,
  or ``garbage`` when set
- ``POST /api/canary`` with ``{"id": ...}``: answers ``emit_status``; unless ``drop`` is set,
  publishes ``{"type": "canary", "id": ...}`` after ``delay`` seconds (``repeat`` times) to
  every ``/ws`` client and to the ``/api/patches`` list
- ``GET /ws``: the broadcast feed; ``close_feeds()`` closes every connection
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class FakeGhost:
    health: dict[str, str] = field(default_factory=dict)
    claims: dict[str, str] = field(default_factory=dict)
    garbage: str | None = None
    emit_status: int = 202
    delay: float = 0.0
    drop: bool = False
    repeat: int = 1
    canaries: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    feeds: set[web.WebSocketResponse] = field(default_factory=set)
    connects: int = 0
    #: Set whenever a canary is received.
    received: asyncio.Event = field(default_factory=asyncio.Event)
    sending: set[asyncio.Task[None]] = field(default_factory=set)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/health/{name}", self._health)
        app.router.add_get("/api/services/status", self._status)
        app.router.add_post("/api/canary", self._canary)
        app.router.add_get("/api/patches", self._patches)
        app.router.add_get("/ws", self._ws)
        app.on_shutdown.append(self._shutdown)
        return app

    async def _health(self, request: web.Request) -> web.Response:
        state = self.health.get(request.match_info["name"], "healthy")
        if state == "down":
            return web.Response(status=503, text="down")
        return web.json_response({"status": state})

    async def _status(self, request: web.Request) -> web.Response:
        if self.garbage is not None:
            return web.Response(text=self.garbage, content_type="application/json")
        services = {name: {"status": claim} for name, claim in self.claims.items()}
        return web.json_response({"status": "healthy", "services": services})

    async def _canary(self, request: web.Request) -> web.Response:
        body = await request.json()
        canary = str(body["id"])
        self.canaries.append(canary)
        self.received.set()
        if not self.drop:
            loop = asyncio.get_running_loop()
            for _ in range(self.repeat):
                if self.delay > 0:
                    loop.call_later(self.delay, self.publish, canary)
                else:
                    self.publish(canary)
        return web.json_response({"accepted": canary}, status=self.emit_status)

    def publish(self, canary: str) -> None:
        event = {"type": "canary", "id": canary}
        self.events.append(event)
        text = json.dumps(event)
        for ws in list(self.feeds):
            if not ws.closed:
                task = asyncio.get_running_loop().create_task(ws.send_str(text))
                self.sending.add(task)
                task.add_done_callback(self.sending.discard)

    async def _patches(self, request: web.Request) -> web.Response:
        return web.json_response({"patches": self.events[-100:]})

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connects += 1
        self.feeds.add(ws)
        try:
            async for _ in ws:
                pass
        finally:
            self.feeds.discard(ws)
        return ws

    async def close_feeds(self) -> None:
        for ws in list(self.feeds):
            await ws.close()

    async def _shutdown(self, app: web.Application) -> None:
        await self.close_feeds()
