"""What every prober shares: the result of a probe, the client pool and the Prober protocol.

The probers themselves are in ``ghost_exporter.kinds``, one module per kind; the probe-timeout
wrapper that runs them is ``probes.timeout``.
"""

from __future__ import annotations

from ghost_exporter.probes.base import Prober
from ghost_exporter.probes.clients import ProbeContext
from ghost_exporter.results import CanaryRound, DaemonStatus, FailureReason, Health, ProbeResult

__all__ = [
    "CanaryRound",
    "DaemonStatus",
    "FailureReason",
    "Health",
    "ProbeContext",
    "ProbeResult",
    "Prober",
]
