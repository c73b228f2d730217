"""status-api: the state of the demo services, patch events from stress daemons, alert webhooks.

- ``GET /api/services/status``: ``{"status": overall, "services": {name: {"status": ...}}}``
- ``POST /api/patches``: one patch event (a JSON object), as ``ghost-stress --report-to`` sends
- ``GET /api/patches?limit=N``: the latest stored events, oldest first
- ``GET /ws``: ``{"type": "patch", "ts": received_at, "event": {...}}`` for every stored event
- the Alertmanager webhook receiver of :mod:`ghost_demo.alerts`
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ghost_stress.hub import Hub

from . import alerts
from .base import base_app, error_response, read_json
from .service import Service

MAX_PATCH_EVENTS = 1000
DEFAULT_LIST_LIMIT = 100

_SEVERITY = {"healthy": 0, "degraded": 1, "unhealthy": 2, "down": 2}


class PatchEvents:
    """The latest patch events received, oldest first; they outlive a restart of the service."""

    def __init__(self, capacity: int = MAX_PATCH_EVENTS) -> None:
        self._items: deque[dict[str, Any]] = deque(maxlen=capacity)
        self.received = 0

    def add(self, event: dict[str, Any]) -> dict[str, Any]:
        self.received += 1
        item = {"received_at": time.time(), "event": event}
        self._items.append(item)
        return item

    def latest(self, limit: int) -> list[dict[str, Any]]:
        if limit <= 0:
            return []
        return list(self._items)[-limit:]


SERVICES: web.AppKey[Mapping[str, Service]] = web.AppKey("status_services")
PATCHES = web.AppKey("patches", PatchEvents)
HUB = web.AppKey("status_hub", Hub)


def create_app(
    service: Service,
    services: Mapping[str, Service],
    patches: PatchEvents,
    alert_log: alerts.AlertLog,
    slow_delay: float,
) -> web.Application:
    app = base_app(service, slow_delay)
    app[SERVICES] = services
    app[PATCHES] = patches
    app[HUB] = Hub()
    app.on_shutdown.append(_close_websockets)
    app.router.add_get("/api/services/status", services_status)
    app.router.add_post("/api/patches", post_patch)
    app.router.add_get("/api/patches", list_patches)
    app.router.add_get("/ws", websocket)
    alerts.add_routes(app, alert_log)
    return app


async def _close_websockets(app: web.Application) -> None:
    await app[HUB].close_all()


def overall_status(states: list[str]) -> str:
    """healthy when every service is; otherwise the worst of degraded and unhealthy."""
    worst = max((_SEVERITY[state] for state in states), default=0)
    return ("healthy", "degraded", "unhealthy")[worst]


async def services_status(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    details = {
        name: {"status": svc.state(), "fault": svc.fault.mode.value}
        for name, svc in services.items()
    }
    overall = overall_status([detail["status"] for detail in details.values()])
    return web.json_response({"status": overall, "services": details})


async def post_patch(request: web.Request) -> web.Response:
    event = await read_json(request)
    if not isinstance(event, dict):
        return error_response("the body must be a JSON object (one patch event)", 400)
    item = request.app[PATCHES].add(event)
    request.app[HUB].publish({"type": "patch", "ts": item["received_at"], "event": event})
    return web.json_response({"received_at": item["received_at"]}, status=202)


async def list_patches(request: web.Request) -> web.Response:
    text = request.query.get("limit", str(DEFAULT_LIST_LIMIT))
    if not (text.isascii() and text.isdigit()):
        return error_response(f"limit must be a non-negative integer, got {text!r}", 400)
    patches = request.app[PATCHES]
    limit = min(int(text), MAX_PATCH_EVENTS)
    return web.json_response({"patches": patches.latest(limit), "received": patches.received})


async def websocket(request: web.Request) -> web.WebSocketResponse:
    return await request.app[HUB].serve(request)
