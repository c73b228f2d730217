"""The control listener: always up, it changes any service's fault, including healing ``down``.

- ``GET /-/faults``: ``{"faults": {name: {"mode", "delay_seconds", "status", "running", "port",
  "uptime_seconds"}}}``
- ``POST /-/fault/{service}`` with ``{"mode": ..., "delay": ...}``; ``DELETE /-/fault/{service}``
- ``POST /-/restart/{service}``: close the listener and reopen it on the same port, healthy
- ``GET /-/healthy``
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Mapping

from aiohttp import web

from .base import error_response, read_json
from .faults import HEALTHY, FaultDefaults, FaultError, parse_fault
from .service import Service

SERVICES: web.AppKey[Mapping[str, Service]] = web.AppKey("control_services")
FAULT_DEFAULTS = web.AppKey("control_fault_defaults", FaultDefaults)


def create_app(services: Mapping[str, Service], defaults: FaultDefaults) -> web.Application:
    app = web.Application()
    app[SERVICES] = services
    app[FAULT_DEFAULTS] = defaults
    app.router.add_get("/-/faults", list_faults)
    app.router.add_post("/-/fault/{service}", set_fault)
    app.router.add_delete("/-/fault/{service}", clear_fault)
    app.router.add_post("/-/restart/{service}", restart)
    app.router.add_get("/-/healthy", healthy)
    return app


def _service(request: web.Request) -> Service:
    services = request.app[SERVICES]
    name = request.match_info["service"]
    if name not in services:
        message = f"unknown service {name!r}: expected one of {', '.join(services)}"
        raise web.HTTPNotFound(text=json.dumps({"error": message}), content_type="application/json")
    return services[name]


async def _change(service: Service, change: Awaitable[None]) -> web.Response:
    try:
        await change
    except OSError as exc:
        return error_response(f"{service.name}: cannot open its listener: {exc}", 503)
    return web.json_response({"service": service.name, **service.describe()})


async def list_faults(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    return web.json_response({"faults": {name: svc.describe() for name, svc in services.items()}})


async def set_fault(request: web.Request) -> web.Response:
    service = _service(request)
    try:
        fault = parse_fault(await read_json(request), request.app[FAULT_DEFAULTS])
    except FaultError as exc:
        return error_response(str(exc), 400)
    return await _change(service, service.apply(fault))


async def clear_fault(request: web.Request) -> web.Response:
    service = _service(request)
    return await _change(service, service.apply(HEALTHY))


async def restart(request: web.Request) -> web.Response:
    service = _service(request)
    return await _change(service, service.restart())


async def healthy(request: web.Request) -> web.Response:
    return web.Response(text="ghost-demo control is healthy.\n")
