"""Run one probe with its timeout enforced from outside the prober."""

from __future__ import annotations

import asyncio
import logging
import time

from ghost_exporter.config import Target
from ghost_exporter.probes import PROBERS, FailureReason, ProbeContext, ProbeResult

log = logging.getLogger(__name__)


async def run_probe(target: Target, ctx: ProbeContext, timeout: float | None = None) -> ProbeResult:
    """Probe ``target`` once within its timeout; never raises (but lets cancellation through).

    The timeout is one timer that cancels the probing task, which is what ``asyncio.timeout``
    does, for less work per probe.
    """
    seconds = timeout if timeout is not None else target.round_timeout
    result = ProbeResult()
    prober = PROBERS[target.kind]
    task = asyncio.current_task()
    assert task is not None
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        task.cancel()

    start = time.perf_counter()
    timer = asyncio.get_running_loop().call_later(seconds, expire)
    try:
        await prober(target, ctx, result)
    except asyncio.CancelledError:
        if not expired or task.uncancel() > 0:
            raise
        result.fail(FailureReason.TIMEOUT, f"timed out after {seconds:g}s")
    except Exception as exc:  # a defect in a prober must not stop the exporter
        log.exception("prober for %s raised", target.name)
        result.fail(FailureReason.PROTOCOL, f"internal error: {type(exc).__name__}")
    finally:
        timer.cancel()
    result.duration = time.perf_counter() - start
    if not result.success and result.reason is None:
        result.fail(FailureReason.PROTOCOL, "probe ended without a result")
    return result
