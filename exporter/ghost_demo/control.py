"""The control listener: always up, it changes any service's fault, including healing ``down``.

- ``GET /-/faults``: ``{"faults": {name: {"mode", "delay_seconds", "status", "running", "port",
  "uptime_seconds"}}}``
- ``POST /-/fault/{service}`` with ``{"mode": ..., "delay": ...}``; ``DELETE /-/fault/{service}``
- ``POST /-/restart/{service}``: close the listener and reopen it on the same port, healthy
- ``GET /-/healthy``

With ``--stress-url``, ``stress`` is a service of ``/-/fault`` too, with one fault: ``failing``,
a patch-failure burst of that ghost-stress daemon (started with ``--control``):
``POST /-/fault/stress`` with ``{"mode": "failing", "failure_rate": 0.5, "for": "5m"}`` (those
are the defaults) sets the daemon's failure rate for that long through its ``/-/failure-rate``;
``DELETE /-/fault/stress`` (or mode ``healthy``) ends the burst.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Mapping

import aiohttp
from aiohttp import web

from .base import error_response, read_json
from .faults import HEALTHY, FaultDefaults, FaultError, parse_fault
from .service import Service

SERVICES: web.AppKey[Mapping[str, Service]] = web.AppKey("control_services")
FAULT_DEFAULTS = web.AppKey("control_fault_defaults", FaultDefaults)
STRESS_URL = web.AppKey("control_stress_url", str)
#: The stress daemon's name on /-/fault, and its fault modes.
STRESS = "stress"
FAILING = "failing"
BURST_DEFAULTS = {"failure_rate": 0.5, "for": "5m"}
#: How long the daemon may take to answer a burst request.
STRESS_TIMEOUT = 5.0


def create_app(
    services: Mapping[str, Service], defaults: FaultDefaults, stress_url: str | None = None
) -> web.Application:
    app = web.Application()
    app[SERVICES] = services
    app[FAULT_DEFAULTS] = defaults
    app[STRESS_URL] = (stress_url or "").rstrip("/")
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
    if _is_stress(request):
        return await _stress_fault(request, await read_json(request))
    service = _service(request)
    try:
        fault = parse_fault(await read_json(request), request.app[FAULT_DEFAULTS])
    except FaultError as exc:
        return error_response(str(exc), 400)
    return await _change(service, service.apply(fault))


async def clear_fault(request: web.Request) -> web.Response:
    if _is_stress(request):
        return await _stress_fault(request, {"mode": HEALTHY.mode.value})
    service = _service(request)
    return await _change(service, service.apply(HEALTHY))


async def restart(request: web.Request) -> web.Response:
    service = _service(request)
    return await _change(service, service.restart())


def _is_stress(request: web.Request) -> bool:
    return request.match_info["service"] == STRESS and bool(request.app[STRESS_URL])


async def _stress_fault(request: web.Request, body: object) -> web.Response:
    """A patch-failure burst of the stress daemon (mode ``failing``), or its end (``healthy``)."""
    if not isinstance(body, dict):
        return error_response('the body must be a JSON object like {"mode": "failing"}', 400)
    mode = body.get("mode")
    unknown = sorted(set(body) - {"mode", *BURST_DEFAULTS})
    if unknown:
        return error_response(f"unknown keys {unknown}: only mode, failure_rate, for", 400)
    url = f"{request.app[STRESS_URL]}/-/failure-rate"
    if mode == FAILING:
        method, burst = (
            "POST",
            {**BURST_DEFAULTS, **{k: body[k] for k in BURST_DEFAULTS if k in body}},
        )
    elif mode == HEALTHY.mode.value and set(body) == {"mode"}:
        method, burst = "DELETE", None
    else:
        return error_response(
            f"invalid mode {mode!r} for {STRESS}: expected failing or healthy", 400
        )
    try:
        timeout = aiohttp.ClientTimeout(total=STRESS_TIMEOUT)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.request(method, url, json=burst) as answer,
        ):
            state = await answer.json(content_type=None)
            status = answer.status
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return error_response(f"{STRESS}: {url}: {exc or type(exc).__name__}", 502)
    if status != 200 or not isinstance(state, dict):
        reason = state.get("error") if isinstance(state, dict) else None
        message = f"{STRESS}: {url} answered {status}: {reason or 'no --control?'}"
        return error_response(message, 400 if status == 400 else 502)
    return web.json_response({"service": STRESS, "mode": mode, **state})


async def healthy(request: web.Request) -> web.Response:
    return web.Response(text="ghost-demo control is healthy.\n")
