"""What every demo service's application has: ``/health``, ``/-/fault`` and the fault middleware."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .faults import HEALTHY, FaultDefaults, FaultError, FaultMode, parse_fault
from .service import Service

SERVICE = web.AppKey("service", Service)
FAULT_DEFAULTS = web.AppKey("fault_defaults", FaultDefaults)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(message: str, status: int) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def read_json(request: web.Request) -> Any:
    """The request body as JSON; raises HTTPBadRequest with a JSON error when it is not."""
    try:
        return await request.json()
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"error": "the body must be JSON"}', content_type="application/json"
        ) from None


def base_app(service: Service, defaults: FaultDefaults) -> web.Application:
    """An application with the routes and behaviour shared by every service."""
    app = web.Application(middlewares=[_fault_middleware])
    app[SERVICE] = service
    app[FAULT_DEFAULTS] = defaults
    app.router.add_get("/health", health)
    app.router.add_post("/-/fault", set_fault)
    app.router.add_delete("/-/fault", clear_fault)
    return app


@web.middleware
async def _fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path == "/-/fault":
        return await handler(request)
    service = request.app[SERVICE]
    fault = service.fault
    if fault.mode is FaultMode.ERROR:
        return error_response(f"{service.name}: injected fault: error", 500)
    if fault.mode is FaultMode.SLOW and fault.delay:
        await asyncio.sleep(fault.delay)
    return await handler(request)


async def health(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    status = service.health()
    body = {"status": status, "uptime_seconds": service.uptime_seconds, "service": service.name}
    return web.json_response(body, status=503 if status == "unhealthy" else 200)


async def set_fault(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    try:
        fault = parse_fault(await read_json(request), request.app[FAULT_DEFAULTS])
    except FaultError as exc:
        return error_response(str(exc), 400)
    service.apply_soon(fault)
    return web.json_response({"service": service.name, **fault.to_json()})


async def clear_fault(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    service.apply_soon(HEALTHY)
    return web.json_response({"service": service.name, **HEALTHY.to_json()})
