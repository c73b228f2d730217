"""Run one probe with its timeout enforced from outside the prober."""

from __future__ import annotations

import asyncio
import logging
import time

from ghost_exporter.config import Target
from ghost_exporter.probes import PROBERS, FailureReason, ProbeContext, ProbeResult

log = logging.getLogger(__name__)


async def run_probe(target: Target, ctx: ProbeContext, timeout: float | None = None) -> ProbeResult:
    """Probe ``target`` once; never raises (but lets cancellation through)."""
    result = ProbeResult()
    prober = PROBERS[target.kind]
    start = time.perf_counter()
    try:
        async with asyncio.timeout(timeout if timeout is not None else target.timeout):
            await prober(target, ctx, result)
    except TimeoutError:
        result.fail(FailureReason.TIMEOUT, f"timed out after {timeout or target.timeout:g}s")
    except Exception as exc:  # a defect in a prober must not stop the exporter
        log.exception("prober for %s raised", target.name)
        result.fail(FailureReason.PROTOCOL, f"internal error: {type(exc).__name__}")
    result.duration = time.perf_counter() - start
    if not result.success and result.reason is None:
        result.fail(FailureReason.PROTOCOL, "probe ended without a result")
    return result
