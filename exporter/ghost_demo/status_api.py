"""status-api: the state of the demo services, patch events from stress daemons, alert webhooks.

- ``GET /api/services/status``: ``{"status": overall, "services": {name: {"status": ...}}}``
- ``POST /api/patches``: one event (a JSON object), as ``ghost-stress --report-to`` sends: a patch
  event or a canary (``"type": "canary"``)
- ``GET /api/patches?limit=N``: the latest stored events, oldest first
- ``GET /ws``: ``{"type": "patch" | "canary", "ts": received_at, "event": {...}}`` for every
  stored event
- the Alertmanager webhook receiver of :mod:`ghost_demo.alerts`

Its own faults ``frozen``, ``lagging`` and ``dropping`` make it the out-of-sync monitor that the
exporter's reporters and pipelines exist to catch.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ghost_common.hub import Hub

from . import alerts
from .base import SERVICE, base_app, error_response, read_json
from .faults import Fault, FaultDefaults, FaultMode
from .service import Service

MAX_PATCH_EVENTS = 1000
DEFAULT_LIST_LIMIT = 100

_SEVERITY = {"healthy": 0, "degraded": 1, "unhealthy": 2, "down": 2}


class PatchEvents:
    """The latest events published, oldest first, and their publication on the current ``/ws``.

    They outlive a restart of the service. ``accept`` follows status-api's fault: ``lagging``
    publishes an event (stores it and pushes it) only after the fault's delay, ``dropping``
    never does; an event delayed by ``lagging`` comes out after its delay even if the fault has
    ended meanwhile.
    """

    def __init__(self, capacity: int = MAX_PATCH_EVENTS) -> None:
        self._items: deque[dict[str, Any]] = deque(maxlen=capacity)
        self.received = 0
        self.accepted = 0
        self.dropped = 0
        self.hub: Hub | None = None
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._keys = itertools.count()

    def accept(self, event: dict[str, Any], fault: Fault) -> None:
        self.accepted += 1
        if fault.mode is FaultMode.DROPPING:
            self.dropped += 1
        elif fault.mode is FaultMode.LAGGING and fault.delay:
            key = next(self._keys)
            loop = asyncio.get_running_loop()
            self._timers[key] = loop.call_later(fault.delay, self._publish_later, key, event)
        else:
            self.add(event)

    def _publish_later(self, key: int, event: dict[str, Any]) -> None:
        del self._timers[key]
        self.add(event)

    def add(self, event: dict[str, Any]) -> dict[str, Any]:
        """Store ``event`` and push it to the WebSocket clients."""
        self.received += 1
        item = {"received_at": time.time(), "event": event}
        self._items.append(item)
        if self.hub is not None:
            kind = "canary" if event.get("type") == "canary" else "patch"
            self.hub.publish({"type": kind, "ts": item["received_at"], "event": event})
        return item

    def latest(self, limit: int) -> list[dict[str, Any]]:
        if limit <= 0:
            return []
        return list(self._items)[-limit:]

    def close(self) -> None:
        """Forget the events still held back by ``lagging`` (process shutdown)."""
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()


class FrozenView:
    """What ``GET /api/services/status`` says while status-api is ``frozen``: the states of the
    moment the fault began."""

    def __init__(self, services: Mapping[str, Service]) -> None:
        self._services = services
        self.view: dict[str, Any] | None = None

    def on_fault(self, fault: Fault) -> None:
        self.view = services_view(self._services) if fault.mode is FaultMode.FROZEN else None


SERVICES: web.AppKey[Mapping[str, Service]] = web.AppKey("status_services")
PATCHES = web.AppKey("patches", PatchEvents)
FROZEN = web.AppKey("frozen", FrozenView)
HUB = web.AppKey("status_hub", Hub)


def create_app(
    service: Service,
    services: Mapping[str, Service],
    patches: PatchEvents,
    frozen: FrozenView,
    alert_log: alerts.AlertLog,
    defaults: FaultDefaults,
) -> web.Application:
    app = base_app(service, defaults)
    app[SERVICES] = services
    app[PATCHES] = patches
    app[FROZEN] = frozen
    app[HUB] = Hub()
    app.on_startup.append(_attach_hub)
    app.on_shutdown.append(_close_websockets)
    app.router.add_get("/api/services/status", services_status)
    app.router.add_post("/api/patches", post_patch)
    app.router.add_get("/api/patches", list_patches)
    app.router.add_get("/ws", websocket)
    alerts.add_routes(app, alert_log)
    return app


async def _attach_hub(app: web.Application) -> None:
    app[PATCHES].hub = app[HUB]


async def _close_websockets(app: web.Application) -> None:
    if app[PATCHES].hub is app[HUB]:
        app[PATCHES].hub = None
    await app[HUB].close_all()


def overall_status(states: list[str]) -> str:
    """healthy when every service is; otherwise the worst of degraded and unhealthy."""
    worst = max((_SEVERITY[state] for state in states), default=0)
    return ("healthy", "degraded", "unhealthy")[worst]


def services_view(services: Mapping[str, Service]) -> dict[str, Any]:
    """The ``GET /api/services/status`` document for the services as they are now."""
    details = {
        name: {"status": svc.state(), "fault": svc.fault.mode.value}
        for name, svc in services.items()
    }
    overall = overall_status([detail["status"] for detail in details.values()])
    return {"status": overall, "services": details}


async def services_status(request: web.Request) -> web.Response:
    frozen = request.app[FROZEN].view
    return web.json_response(frozen or services_view(request.app[SERVICES]))


async def post_patch(request: web.Request) -> web.Response:
    event = await read_json(request)
    if not isinstance(event, dict):
        return error_response("the body must be a JSON object (one patch event)", 400)
    received_at = time.time()
    request.app[PATCHES].accept(event, request.app[SERVICE].fault)
    return web.json_response({"received_at": received_at}, status=202)


async def list_patches(request: web.Request) -> web.Response:
    text = request.query.get("limit", str(DEFAULT_LIST_LIMIT))
    if not (text.isascii() and text.isdigit()):
        return error_response(f"limit must be a non-negative integer, got {text!r}", 400)
    patches = request.app[PATCHES]
    limit = min(int(text), MAX_PATCH_EVENTS)
    return web.json_response({"patches": patches.latest(limit), "received": patches.received})


async def websocket(request: web.Request) -> web.WebSocketResponse:
    return await request.app[HUB].serve(request)
