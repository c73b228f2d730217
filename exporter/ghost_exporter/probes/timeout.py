"""The probe-timeout wrapper: one probe of a target, with its retries, under one timer.

The prober comes from the table of kinds; the timeout is enforced from outside it, and this is
the one place where what a prober raised becomes a failure reason (``probes.errors.classify``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ghost_exporter.kinds import KIND_TABLE
from ghost_exporter.probes.errors import classify
from ghost_exporter.results import FailureReason, ProbeResult

if TYPE_CHECKING:
    from ghost_exporter.config.model import Target
    from ghost_exporter.probes.base import Prober
    from ghost_exporter.probes.clients import ProbeContext


async def run_probe(target: Target, ctx: ProbeContext, timeout: float | None = None) -> ProbeResult:
    """Probe ``target`` within its timeout; never raises (but lets cancellation through).

    A target with ``retries`` tries again after a failed attempt, ``retry_delay`` later, while
    the pause still ends before the timeout: the probe succeeds when any attempt does, and its
    phases, status code and reason are those of its last attempt. Retries never extend the
    timeout, which covers every attempt and pause. The timeout is one timer that cancels the
    probing task, which is what ``asyncio.timeout`` does, for less work per probe.
    """
    seconds = timeout if timeout is not None else target.round_timeout
    prober = KIND_TABLE[target.kind].prober
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
            await _attempt(prober, target, ctx, result, seconds, lambda: expired)
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
    prober: Prober,
    target: Target,
    ctx: ProbeContext,
    result: ProbeResult,
    seconds: float,
    expired: Callable[[], bool],
) -> None:
    """One attempt into ``result``; the probe's timer expiring makes it a timeout, and anything
    the prober raised fails it with the reason the exception stands for."""
    task = asyncio.current_task()
    assert task is not None
    try:
        await prober(target, ctx, result)
    except asyncio.CancelledError:
        if not expired() or task.uncancel() > 0:
            raise
        result.fail(FailureReason.TIMEOUT, f"timed out after {seconds:g}s")
    except Exception as exc:  # a probe never raises: every error is a reason
        reason, message = classify(exc)
        result.fail(reason, message)
