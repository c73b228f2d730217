"""The HTTP app: ``POST /webhook`` (Alertmanager), ``/metrics``, ``/-/healthy``, ``/-/ready``,
``POST /-/reload`` and ``/``. The webhook answers as soon as every alert is decided: actions run
in background tasks, which ``cleanup_ctx`` cancels at shutdown."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .auth import Authenticator, TooManyChecks
from .engine import Remediator, Requester
from .payload import MAX_BODY_BYTES, PayloadError, parse_notification

Reload = Callable[[], Awaitable[str | None]]

REMEDIATOR = web.AppKey("remediator", Remediator)
AUTHENTICATOR = web.AppKey("authenticator", Authenticator)
RELOAD: web.AppKey[Reload] = web.AppKey("reload")

audit_log = logging.getLogger("ghost_remediate.audit")


async def _authenticate(request: web.Request, body: bytes = b"") -> str:
    """The user, or a 401 (logged with the peer address; the credentials never are); a 429
    when too many password checks are queued already. Without an Authorization header, a
    signed body (auth.hmac) authenticates."""
    auth = request.app[AUTHENTICATOR]
    header = request.headers.get("Authorization")
    reason = "invalid credentials" if header else "no credentials"
    try:
        if header:
            user = await auth.user(header)
        else:
            user, reason = auth.signed(request.headers, body)
    except TooManyChecks:
        raise web.HTTPTooManyRequests(
            text="429 Too Many Requests\n", headers={"Retry-After": "1"}
        ) from None
    if user is None:
        audit_log.warning(
            "unauthorized",
            extra={"remote": request.remote or "", "path": request.path, "reason": reason},
        )
        raise web.HTTPUnauthorized(
            text="401 Unauthorized\n", headers={"WWW-Authenticate": auth.challenge()}
        )
    return user


async def webhook(request: web.Request) -> web.Response:
    body = await request.read()
    user = await _authenticate(request, body)
    try:
        data = json.loads(body)
    except ValueError:
        raise web.HTTPBadRequest(text="the body is not JSON\n") from None
    try:
        notification = parse_notification(data)
    except PayloadError as exc:
        raise web.HTTPBadRequest(text=f"not an Alertmanager notification: {exc}\n") from None
    decisions = request.app[REMEDIATOR].handle(notification, Requester(request.remote or "", user))
    return web.json_response({"decisions": [d.to_json() for d in decisions]})


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[REMEDIATOR].metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def healthy(request: web.Request) -> web.Response:
    return web.Response(text="Healthy.\n")


async def ready(request: web.Request) -> web.Response:
    return web.Response(text="Ready.\n")


async def reload(request: web.Request) -> web.Response:
    await _authenticate(request, await request.read())
    error = await request.app[RELOAD]()
    if error is not None:
        raise web.HTTPInternalServerError(text=f"config reload refused:\n{error}\n")
    return web.Response(text="Config reloaded.\n")


async def index(request: web.Request) -> web.Response:
    rules = request.app[REMEDIATOR].config.rules
    lines = [
        "ghost-remediate: runs allowlisted remediations for Alertmanager notifications.",
        "",
        "POST /webhook     Alertmanager webhook (version 4), authenticated",
        "GET  /metrics     ghost_remediations_total and friends",
        "GET  /-/healthy, /-/ready; POST /-/reload (authenticated)",
        "",
        f"{len(rules)} rules: {', '.join(rule.name for rule in rules)}",
    ]
    return web.Response(text="\n".join(lines) + "\n")


async def _no_reload() -> str | None:
    return "this server has no config file to reload"


def create_app(
    remediator: Remediator, authenticator: Authenticator, reload_config: Reload | None = None
) -> web.Application:
    """The app; the remediator's client session and tasks live as long as it (cleanup_ctx)."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[REMEDIATOR] = remediator
    app[AUTHENTICATOR] = authenticator
    app[RELOAD] = reload_config or _no_reload

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await remediator.start()
        yield
        await remediator.stop()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_post("/webhook", webhook)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/ready", ready)
    app.router.add_post("/-/reload", reload)
    app.router.add_get("/", index)
    return app
