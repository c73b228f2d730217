"""The pipeline prober: one canary round. Observers are connected first, then the canary is
emitted, and each observer's sighting is timed from the moment the emit request was sent, on
the exporter's monotonic clock, for up to twice the deadline."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

from ghost_exporter.config.schema import CANARY, Pipeline
from ghost_exporter.probes.base import CanaryRound, FailureReason, Health, ProbeResult
from ghost_exporter.probes.errors import classify
from ghost_exporter.probes.httpclient import HTTPError, Marks
from ghost_exporter.probes.observers import Seen, Watcher, WatcherPool, new_canary, poll
from ghost_exporter.probes.outbound import build_headers, send, status_ok

if TYPE_CHECKING:
    from ghost_exporter.config import Target
    from ghost_exporter.probes.context import ProbeContext

#: The name of the observer connections in the probe context.
WATCHERS = "pipeline.watchers"


def watcher_pool(ctx: ProbeContext) -> WatcherPool:
    return ctx.resource(WATCHERS, lambda: WatcherPool(ctx.websocket))


class _Sightings:
    """First sighting of the canary per observer; ``all_seen`` once every observer saw it."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.at: dict[str, float] = {}
        self.all_seen = asyncio.Event()

    def by(self, name: str) -> Seen:
        def seen(at: float) -> None:
            if name not in self.at:
                self.at[name] = at
                if len(self.at) == len(self.names):
                    self.all_seen.set()

        return seen


class PipelineProber:
    async def __call__(self, target: Target, ctx: ProbeContext, result: ProbeResult) -> None:
        spec = target.spec
        assert isinstance(spec, Pipeline)
        round_ = CanaryRound(new_canary(), seen={o.name: None for o in spec.observe})
        result.canary = round_
        try:
            await self._round(target, spec, ctx, round_, result)
        except Exception as exc:  # a prober never raises: every error is a reason
            reason, message = classify(exc)
            result.fail(reason, message)

    async def _round(
        self,
        target: Target,
        spec: Pipeline,
        ctx: ProbeContext,
        round_: CanaryRound,
        result: ProbeResult,
    ) -> None:
        canary = round_.canary
        sightings = _Sightings([o.name for o in spec.observe])
        watchers = watcher_pool(ctx)
        idle = 3 * target.interval + target.round_timeout
        watching: list[Watcher] = []
        pollers: list[asyncio.Task[None]] = []
        try:
            sockets = [
                (o.name, watchers.get(o.websocket, idle)) for o in spec.observe if o.websocket
            ]
            errors = await asyncio.gather(*(w.ensure(target.timeout) for _, w in sockets))
            for (name, watcher), error in zip(sockets, errors, strict=True):
                if error is None:
                    watcher.watch(canary, sightings.by(name))
                    watching.append(watcher)
                else:
                    round_.notes[name] = f"not connected: {error}"
            loop = asyncio.get_running_loop()
            for o in spec.observe:
                if o.http is not None:
                    seen = sightings.by(o.name)
                    job = poll(o.http, canary, seen, ctx.pool, target.timeout, round_.notes, o.name)
                    pollers.append(loop.create_task(job))
            sent = await self._emit(target, spec, canary, round_, result)
            if sent is None:
                return
            remaining = sent + 2 * spec.deadline - time.perf_counter()
            if remaining > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(sightings.all_seen.wait(), remaining)
            for name in sightings.names:
                at = sightings.at.get(name)
                round_.seen[name] = None if at is None else max(0.0, at - sent)
        finally:
            for watcher in watching:
                watcher.unwatch(canary)
            for task in pollers:
                task.cancel()
            await asyncio.gather(*pollers, return_exceptions=True)
        self._judge(spec, round_, result)

    async def _emit(
        self,
        target: Target,
        spec: Pipeline,
        canary: str,
        round_: CanaryRound,
        result: ProbeResult,
    ) -> float | None:
        """Send the canary; the perf_counter time it was sent, or None when the emit failed."""
        emit = spec.emit.http
        headers = build_headers(emit.headers, emit.basic_auth, replace=(CANARY, canary))
        body = emit.body.replace(CANARY, canary).encode() if emit.body is not None else None
        marks = Marks(start=time.perf_counter())
        try:
            resp = await asyncio.wait_for(
                send(
                    emit.method,
                    emit.url,
                    headers,
                    body,
                    emit.tls_config,
                    emit.max_body_bytes,
                    marks,
                ),
                target.timeout,
            )
        except HTTPError as exc:
            reason, message = exc.reason, str(exc)
        except Exception as exc:
            reason, message = classify(exc)
        else:
            result.status_code = resp.status
            if status_ok(resp.status, emit.valid_status_codes) and marks.sent is not None:
                round_.emitted = True
                return marks.sent
            reason, message = FailureReason.STATUS, f"status {resp.status}"
        round_.emit_reason = reason
        result.fail(reason, f"emit: {message}")
        return None

    def _judge(self, spec: Pipeline, round_: CanaryRound, result: ProbeResult) -> None:
        problems = []
        for name, seconds in round_.seen.items():
            if seconds is None or seconds > 2 * spec.deadline:
                note = round_.notes.get(name)
                problems.append(f"{name} lost" + (f" ({note})" if note else ""))
            elif seconds > spec.deadline:
                problems.append(f"{name} late ({seconds:.3f}s)")
        if problems:
            result.fail(FailureReason.HEALTH, "; ".join(problems))
        else:
            result.health = Health.HEALTHY
            result.succeed()
