"""The patch status protocol over HTTP: status, event log, WebSocket feed, canaries, health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from ghost_common.hub import DEFAULT_CLIENT_QUEUE, Hub

from .accounting import Accounting
from .canary import BURST, RATE, CanaryError, TokenBucket, parse_canary, read_body
from .events import DEFAULT_PAGE_LIMIT
from .executor import Executor
from .reporter import Reporter

ACCOUNTING = web.AppKey("accounting", Accounting)
HUB = web.AppKey("hub", Hub)
REPORTER = web.AppKey("reporter", Reporter)
EXECUTOR = web.AppKey("executor", Executor)
CANARY_BUCKET = web.AppKey("canary_bucket", TokenBucket)


def create_app(
    accounting: Accounting,
    *,
    executor: Executor | None = None,
    reporter: Reporter | None = None,
    ws_queue: int = DEFAULT_CLIENT_QUEUE,
) -> web.Application:
    """The status API of one daemon instance.

    ``executor`` adds ``skipped`` (rate mode) and ``reporter`` adds ``reports`` to the status.
    """
    app = web.Application()
    app[ACCOUNTING] = accounting
    app[HUB] = Hub(ws_queue)
    app[CANARY_BUCKET] = TokenBucket(RATE, BURST)
    if executor is not None:
        app[EXECUTOR] = executor
    if reporter is not None:
        app[REPORTER] = reporter
    app.cleanup_ctx.append(_publish_events)
    app.on_shutdown.append(_close_websockets)
    app.router.add_get("/api/status", status)
    app.router.add_get("/api/patches", patches)
    app.router.add_get("/ws", websocket)
    app.router.add_post("/api/canary", canary)
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/ready", healthy)  # ready as soon as it serves: nothing to load first
    return app


async def _publish_events(app: web.Application) -> AsyncIterator[None]:
    accounting, hub = app[ACCOUNTING], app[HUB]
    accounting.subscribe(hub.publish)
    yield
    accounting.unsubscribe(hub.publish)


async def _close_websockets(app: web.Application) -> None:
    await app[HUB].close_all()


async def status(request: web.Request) -> web.Response:
    app = request.app
    body: dict[str, Any] = app[ACCOUNTING].status()
    executor = app.get(EXECUTOR)
    if executor is not None:
        body["skipped"] = executor.skipped
    reporter = app.get(REPORTER)
    if reporter is not None:
        body["reports"] = reporter.counts()
    return web.json_response(body)


async def patches(request: web.Request) -> web.Response:
    try:
        after = _non_negative(request, "after", 0)
        limit = _non_negative(request, "limit", DEFAULT_PAGE_LIMIT)
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    page = request.app[ACCOUNTING].log.page(after, limit)
    return web.json_response(page.to_json())


def _non_negative(request: web.Request, name: str, default: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"{name} must be a non-negative integer, got {text!r}")
    return int(text)


async def canary(request: web.Request) -> web.Response:
    """Validate, rate-limit, then put one canary event through the event path (202)."""
    try:
        canary_id = parse_canary(await read_body(request))
    except CanaryError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    if not request.app[CANARY_BUCKET].take():
        message = f"at most {RATE:g} canaries per second"
        return web.json_response({"error": message}, status=429, headers={"Retry-After": "1"})
    event = request.app[ACCOUNTING].canary(canary_id)
    return web.json_response({"seq": event["seq"], "ts": event["ts"], "id": canary_id}, status=202)


async def websocket(request: web.Request) -> web.WebSocketResponse:
    return await request.app[HUB].serve(request)


async def healthy(request: web.Request) -> web.Response:
    return web.Response(text="ghost-stress is healthy.\n")
