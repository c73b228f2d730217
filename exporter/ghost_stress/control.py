"""A patch-failure burst at run time: ``/-/failure-rate`` of a daemon started with ``--control``.

- ``GET /-/failure-rate``: ``{"failure_rate", "base_failure_rate", "until"}`` (``until`` is the
  Unix time the burst ends, or null)
- ``POST /-/failure-rate`` with ``{"failure_rate": 0.5, "for": "5m"}``: fail that share of the
  simulated patches started from now on, for that long (default 5m, at most 1h), then go back to
  the rate of ``--failure-rate``; a new burst replaces the running one
- ``DELETE /-/failure-rate``: end the burst now

Only for simulated patches, and only with ``--control``: it lets any client of the status API
make patches fail, which is what a demo or a test wants and nothing else does.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from ghost_common.units import parse_duration

from .patches import SimulatedPatches

#: Longest burst: a forgotten burst ends by itself.
MAX_BURST_SECONDS = 3600.0
DEFAULT_BURST_SECONDS = 300.0


class BurstError(ValueError):
    """A burst request that cannot be applied (HTTP 400)."""


class FailureControl:
    """Changes a simulated workload's failure rate for a bounded time."""

    def __init__(self, workload: SimulatedPatches) -> None:
        self.workload = workload
        self.base = workload.failure_rate
        self.until: float | None = None
        self._task: asyncio.Task[None] | None = None

    def state(self) -> dict[str, Any]:
        return {
            "failure_rate": self.workload.failure_rate,
            "base_failure_rate": self.base,
            "until": self.until,
        }

    def start(self, rate: float, seconds: float) -> None:
        """Fail ``rate`` of the patches for ``seconds``; replaces a running burst."""
        self.stop()
        self.workload.failure_rate = rate
        self.until = time.time() + seconds
        self._task = asyncio.get_running_loop().create_task(self._end_after(seconds))

    def stop(self) -> None:
        """Back to the base rate now."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.workload.failure_rate = self.base
        self.until = None

    async def _end_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self._task = None
        self.stop()


def parse_burst(body: object) -> tuple[float, float]:
    """``(rate, seconds)`` of a request body, or BurstError."""
    if not isinstance(body, dict):
        raise BurstError('the body must be a JSON object like {"failure_rate": 0.5, "for": "5m"}')
    unknown = sorted(set(body) - {"failure_rate", "for"})
    if unknown:
        raise BurstError(f"unknown keys {unknown}: only failure_rate and for are accepted")
    rate = body.get("failure_rate")
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise BurstError("failure_rate must be a number between 0 and 1")
    length = body.get("for", DEFAULT_BURST_SECONDS)
    if isinstance(length, str):
        try:
            seconds = parse_duration(length)
        except ValueError as exc:
            raise BurstError(f"for: {exc}") from None
    elif isinstance(length, int | float) and not isinstance(length, bool):
        seconds = float(length)
    else:
        raise BurstError("for must be a duration such as 5m or 30s")
    if not 0 < seconds <= MAX_BURST_SECONDS or not math.isfinite(seconds):
        raise BurstError(f"for must be more than 0 and at most {MAX_BURST_SECONDS:g}s")
    return float(rate), seconds


CONTROL = web.AppKey("failure_control", FailureControl)


def add_routes(app: web.Application, control: FailureControl) -> None:
    app[CONTROL] = control
    app.router.add_get("/-/failure-rate", _get)
    app.router.add_post("/-/failure-rate", _post)
    app.router.add_delete("/-/failure-rate", _delete)
    app.cleanup_ctx.append(_stop_on_cleanup)


async def _stop_on_cleanup(app: web.Application) -> AsyncIterator[None]:
    yield
    app[CONTROL].stop()


async def _get(request: web.Request) -> web.Response:
    return web.json_response(request.app[CONTROL].state())


async def _post(request: web.Request) -> web.Response:
    control = request.app[CONTROL]
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": "the body must be JSON"}, status=400)
    try:
        rate, seconds = parse_burst(body)
    except BurstError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    control.start(rate, seconds)
    return web.json_response(control.state())


async def _delete(request: web.Request) -> web.Response:
    control = request.app[CONTROL]
    control.stop()
    return web.json_response(control.state())
