"""One demo service: its listener's lifecycle and its fault state.

The application is built afresh by the service's factory at every start, so stopping (``down``)
and restarting behave like a real process going away and coming back on the same port. What must
survive a restart (stored events, alert notifications) lives outside the application.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ghost_common.serving import start

from .faults import HEALTHY, Fault, FaultMode

log = logging.getLogger(__name__)

#: How long stopping a listener waits for requests in progress.
SHUTDOWN_TIMEOUT = 0.5

AppFactory = Callable[["Service"], web.Application]
FaultListener = Callable[[Fault], None]


class Service:
    def __init__(self, name: str, host: str, port: int, factory: AppFactory) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.fault: Fault = HEALTHY
        self._factory = factory
        self._runner: web.AppRunner | None = None
        self._started = time.monotonic()
        self._lock = asyncio.Lock()
        self._pending: set[asyncio.Task[None]] = set()
        self._listeners: list[FaultListener] = []

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def uptime_seconds(self) -> float:
        return time.monotonic() - self._started

    def health(self) -> str:
        """What this service's ``/health`` says."""
        if self.fault.mode is FaultMode.DEGRADED:
            return "degraded"
        if self.fault.mode is FaultMode.UNHEALTHY:
            return "unhealthy"
        return "healthy"

    def state(self) -> str:
        """The service as a monitor reading its ``/health`` sees it: what ``/health`` says,
        unhealthy while it answers errors, down while its listener is closed.

        So an honest status-api agrees with the exporter's probes; only its own faults (frozen)
        make it disagree. Slowness and stale telemetry do not change ``/health``.
        """
        if self.fault.mode is FaultMode.DOWN or not self.running:
            return "down"
        if self.fault.mode is FaultMode.ERROR:
            return "unhealthy"
        return self.health()

    def describe(self) -> dict[str, Any]:
        return {
            **self.fault.to_json(),
            "status": self.state(),
            "running": self.running,
            "port": self.port,
            "uptime_seconds": self.uptime_seconds if self.running else None,
        }

    async def start(self) -> None:
        async with self._lock:
            await self._start()

    async def stop(self) -> None:
        async with self._lock:
            await self._stop()

    async def restart(self) -> None:
        """Close the listener and open it again on the same port, healthy, with a new uptime."""
        async with self._lock:
            await self._stop()
            self._change(HEALTHY)
            await self._start()

    async def apply(self, fault: Fault) -> None:
        """Set the fault mode; ``down`` closes the listener, any other mode reopens it."""
        async with self._lock:
            self._change(fault)
            if fault.mode is FaultMode.DOWN:
                await self._stop()
            elif not self.running:
                await self._start()

    def apply_soon(self, fault: Fault) -> None:
        """Record ``fault`` now; close or reopen the listener once the current request is answered.

        This is how a service changes its own fault: stopping its listener from inside one of its
        requests would wait for that very request.
        """
        self._change(fault)
        task = asyncio.create_task(self._apply_logged(fault))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _apply_logged(self, fault: Fault) -> None:
        try:
            await self.apply(fault)
        except OSError as exc:
            log.error("%s: cannot open its listener: %s", self.name, exc)

    def on_fault(self, listener: FaultListener) -> None:
        """Call ``listener`` with the new fault whenever the mode changes (before any request)."""
        self._listeners.append(listener)

    def _change(self, fault: Fault) -> None:
        changed = fault.mode is not self.fault.mode
        if fault != self.fault:
            delay = f" (delay {fault.delay:g}s)" if fault.delay is not None else ""
            log.info("%s: fault %s -> %s%s", self.name, self.fault.mode, fault.mode, delay)
        self.fault = fault
        if changed:
            for listener in self._listeners:
                listener(fault)

    async def _start(self) -> None:
        if self._runner is not None:
            return
        self._runner, self.port = await start(
            self._factory(self), self.host, self.port, shutdown_timeout=SHUTDOWN_TIMEOUT
        )
        self._started = time.monotonic()
        log.info("%s: listening on http://%s:%d", self.name, self.host, self.port)

    async def _stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            log.info("%s: listener closed", self.name)

    async def close(self) -> None:
        """Stop for good (process shutdown), including pending fault changes."""
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)
        await self.stop()
