"""An Alertmanager webhook receiver: records notifications so they can be listed and cleared.

``POST /api/alerts`` and ``POST /api/alerts/{receiver}`` accept Alertmanager's webhook JSON
(version 4); the path segment lets each Alertmanager receiver post to its own URL. ``GET
/api/alerts`` lists the last notifications (optionally ``?receiver=NAME``, matching the path),
``DELETE /api/alerts`` forgets them.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

from aiohttp import web

from .base import error_response, read_json

log = logging.getLogger(__name__)

MAX_NOTIFICATIONS = 1000


class AlertLog:
    """The last notifications, oldest first."""

    def __init__(self, capacity: int = MAX_NOTIFICATIONS) -> None:
        self._items: deque[dict[str, Any]] = deque(maxlen=capacity)

    def record(self, payload: dict[str, Any], path_receiver: str | None) -> dict[str, Any]:
        item = {"received_at": time.time(), "path_receiver": path_receiver, "payload": payload}
        self._items.append(item)
        return item

    def list(self, path_receiver: str | None = None) -> list[dict[str, Any]]:
        if path_receiver is None:
            return list(self._items)
        return [item for item in self._items if item["path_receiver"] == path_receiver]

    def clear(self) -> int:
        count = len(self._items)
        self._items.clear()
        return count


ALERT_LOG = web.AppKey("alert_log", AlertLog)


def add_routes(app: web.Application, alert_log: AlertLog) -> None:
    app[ALERT_LOG] = alert_log
    app.router.add_post("/api/alerts", receive)
    app.router.add_post("/api/alerts/{receiver}", receive)
    app.router.add_get("/api/alerts", list_notifications)
    app.router.add_delete("/api/alerts", clear)


def validate(payload: object) -> str | None:
    """Why ``payload`` is not an Alertmanager webhook notification, or None when it is one."""
    if not isinstance(payload, dict):
        return "the body must be a JSON object (an Alertmanager webhook notification)"
    alerts = payload.get("alerts")
    if not isinstance(alerts, list) or not all(isinstance(alert, dict) for alert in alerts):
        return "alerts must be a list of objects"
    for key in ("status", "receiver"):
        if key in payload and not isinstance(payload[key], str):
            return f"{key} must be a string"
    return None


async def receive(request: web.Request) -> web.Response:
    payload = await read_json(request)
    problem = validate(payload)
    if problem is not None:
        return error_response(problem, 400)
    receiver = request.match_info.get("receiver")
    item = request.app[ALERT_LOG].record(payload, receiver)
    names = sorted({_alertname(alert) for alert in payload["alerts"]})
    log.info(
        "alert notification %s for %s (%s) via %s",
        payload.get("status", "?"),
        payload.get("receiver", "?"),
        ", ".join(names) or "no alerts",
        request.path,
    )
    return web.json_response({"received_at": item["received_at"]}, status=200)


def _alertname(alert: dict[str, Any]) -> str:
    labels = alert.get("labels")
    return str(labels.get("alertname", "?")) if isinstance(labels, dict) else "?"


async def list_notifications(request: web.Request) -> web.Response:
    receiver = request.query.get("receiver")
    return web.json_response({"notifications": request.app[ALERT_LOG].list(receiver)})


async def clear(request: web.Request) -> web.Response:
    return web.json_response({"cleared": request.app[ALERT_LOG].clear()})
