"""Run one probe with its timeout enforced from outside the prober."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from ghost_exporter.config import Target
from ghost_exporter.probes import PROBERS, FailureReason, ProbeContext, ProbeResult
from ghost_exporter.probes.base import Prober

log = logging.getLogger(__name__)


async def run_probe(target: Target, ctx: ProbeContext, timeout: float | None = None) -> ProbeResult:
    """Probe ``target`` within its timeout; never raises (but lets cancellation through).

    A target with ``retries`` tries again after a failed attempt, ``retry_delay`` later, while
    the pause still ends before the timeout: the probe succeeds when any attempt does, and its
    phases, status code and reason are those of its last attempt. Retries never extend the
    timeout, which covers every attempt and pause. The timeout is one timer that cancels the
    probing task, which is what ``asyncio.timeout`` does, for less work per probe.
    """
    seconds = timeout if timeout is not None else target.round_timeout
    prober = PROBERS[target.kind]
    task = asyncio.current_task()
    assert task is not None
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        task.cancel()

    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    deadline = loop.time() + seconds
    timer = loop.call_at(deadline, expire)
    result = ProbeResult()
    started = result.started
    attempts = 0
    try:
        while True:
            attempts += 1
            await _attempt(target, ctx, prober, result, seconds, lambda: expired)
            if result.success or attempts > target.retries or expired:
                break
            if loop.time() + target.retry_delay >= deadline:
                break  # no time left for another attempt: the last failure stands
            await asyncio.sleep(target.retry_delay)
            result = ProbeResult(started=started)
    except asyncio.CancelledError:  # expired during a pause: the last attempt's failure stands
        if not expired or task.uncancel() > 0:
            raise
    finally:
        timer.cancel()
    result.attempts = attempts
    result.duration = time.perf_counter() - start
    if not result.success and result.reason is None:
        result.fail(FailureReason.PROTOCOL, "probe ended without a result")
    return result


async def _attempt(
    target: Target,
    ctx: ProbeContext,
    prober: Prober,
    result: ProbeResult,
    seconds: float,
    expired: Callable[[], bool],
) -> None:
    """One attempt into ``result``; the probe's timer expiring makes it a timeout."""
    task = asyncio.current_task()
    assert task is not None
    try:
        await prober(target, ctx, result)
    except asyncio.CancelledError:
        if not expired() or task.uncancel() > 0:
            raise
        result.fail(FailureReason.TIMEOUT, f"timed out after {seconds:g}s")
    except Exception as exc:  # a defect in a prober must not stop the exporter
        log.exception("prober for %s raised", target.name)
        result.fail(FailureReason.PROTOCOL, f"internal error: {type(exc).__name__}")
