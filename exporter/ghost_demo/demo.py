"""The demo: three ghost services and the control listener in one process.

Ports: dual-monitor ``base``, telemetry-api ``base+1``, status-api ``base+2``, control
``base+10`` (8787, 8788, 8789 and 8797 by default); with base 0 every port is picked by the system
and stays the same across restarts of a service.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from ghost_common.serving import start, write_atomically

from . import control, status_api, telemetry
from .alerts import AlertLog
from .base import base_app
from .faults import FaultDefaults
from .service import SHUTDOWN_TIMEOUT, AppFactory, Service
from .status_api import FrozenView, PatchEvents
from .telemetry import TelemetryFeed, TelemetrySettings

log = logging.getLogger(__name__)

DUAL_MONITOR = "dual-monitor"
TELEMETRY_API = "telemetry-api"
STATUS_API = "status-api"
CONTROL = "control"
PORT_OFFSETS = {DUAL_MONITOR: 0, TELEMETRY_API: 1, STATUS_API: 2, CONTROL: 10}


@dataclass(frozen=True, slots=True)
class DemoSettings:
    host: str = "127.0.0.1"
    base_port: int = 8787
    control_port: int | None = None  # None: base_port + 10 (or system-picked with base 0)
    telemetry_interval: float = 1.0
    slow_delay: float = 10.0
    lag_delay: float = 8.0
    stale_age: float = 60.0
    stress_url: str | None = None  # a ghost-stress daemon with --control: the `failing` fault

    @property
    def fault_defaults(self) -> FaultDefaults:
        return FaultDefaults(slow=self.slow_delay, lagging=self.lag_delay)

    def port(self, name: str) -> int:
        if name == CONTROL and self.control_port is not None:
            return self.control_port
        return 0 if self.base_port == 0 else self.base_port + PORT_OFFSETS[name]


class Demo:
    def __init__(self, settings: DemoSettings) -> None:
        self.settings = settings
        self.patches = PatchEvents()
        self.alert_log = AlertLog()
        self.feed = TelemetryFeed(
            TELEMETRY_API, TelemetrySettings(settings.telemetry_interval, settings.stale_age)
        )
        defaults = settings.fault_defaults
        self.services: dict[str, Service] = {
            DUAL_MONITOR: self._service(DUAL_MONITOR, lambda svc: base_app(svc, defaults)),
            TELEMETRY_API: self._service(
                TELEMETRY_API, lambda svc: telemetry.create_app(svc, self.feed, defaults)
            ),
            STATUS_API: self._service(
                STATUS_API,
                lambda svc: status_api.create_app(
                    svc, self.services, self.patches, self.frozen, self.alert_log, defaults
                ),
            ),
        }
        self.frozen = FrozenView(self.services)
        self.services[STATUS_API].on_fault(self.frozen.on_fault)
        self.control_port = settings.port(CONTROL)
        self._control: web.AppRunner | None = None

    def _service(self, name: str, factory: AppFactory) -> Service:
        return Service(name, self.settings.host, self.settings.port(name), factory)

    async def start(self) -> None:
        """Open every listener; on failure close the ones already open and raise OSError."""
        try:
            for service in self.services.values():
                await service.start()
            app = control.create_app(
                self.services, self.settings.fault_defaults, self.settings.stress_url
            )
            self._control, self.control_port = await start(
                app, self.settings.host, self.control_port, shutdown_timeout=SHUTDOWN_TIMEOUT
            )
            log.info("control: listening on http://%s:%d", self.settings.host, self.control_port)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Close every listener (WebSockets get a going-away close frame)."""
        await asyncio.gather(*(service.close() for service in self.services.values()))
        self.patches.close()
        runner, self._control = self._control, None
        if runner is not None:
            await runner.cleanup()

    def ports(self) -> dict[str, int]:
        ports = {name: service.port for name, service in self.services.items()}
        ports[CONTROL] = self.control_port
        return ports

    def write_port_file(self, path: Path) -> None:
        write_atomically(path, json.dumps(self.ports()) + "\n")
