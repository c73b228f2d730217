"""Probers, one module per kind behind the Prober protocol, and the one table of kinds."""

from __future__ import annotations

from ghost_exporter.probes.base import (
    CanaryRound,
    DaemonStatus,
    FailureReason,
    Health,
    Prober,
    ProbeResult,
)
from ghost_exporter.probes.context import ProbeContext
from ghost_exporter.probes.daemon import DaemonProber
from ghost_exporter.probes.http import HTTPProber
from ghost_exporter.probes.pipeline import PipelineProber
from ghost_exporter.probes.reporter import ReporterProber
from ghost_exporter.probes.tcp import TCPProber
from ghost_exporter.probes.websocket import WebSocketProber

#: The one table mapping a target kind to its prober.
PROBERS: dict[str, Prober] = {
    "http": HTTPProber(),
    "websocket": WebSocketProber(),
    "tcp": TCPProber(),
    "daemon": DaemonProber(),
    "reporter": ReporterProber(),
    "pipeline": PipelineProber(),
}

__all__ = [
    "PROBERS",
    "CanaryRound",
    "DaemonStatus",
    "FailureReason",
    "Health",
    "ProbeContext",
    "ProbeResult",
    "Prober",
]
