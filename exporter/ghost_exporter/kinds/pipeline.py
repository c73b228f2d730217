"""The pipeline kind: a canary sent in at one end and watched for at the other.

A probe is one canary round. Observers are connected first, then the canary is emitted, and
each observer's sighting is timed from the moment the emit request was sent, on the exporter's
monotonic clock, for up to twice the deadline: delivered within the deadline, late within twice
it, else lost. The state keeps the outcomes and delivery times per observer, and emit failures.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import Field, model_validator

from ghost_common.errors import ErrorDetail, format_path
from ghost_common.schema import BasicAuth, HTTPMethod, Name, TLSConfig
from ghost_exporter.config.schema import (
    CANARY,
    CanaryHeaders,
    CanaryText,
    Defaults,
    PlainHTTPURL,
    PositiveDuration,
    Size,
    StatusCodes,
    StrictModel,
    TargetEntry,
)
from ghost_exporter.kinds.kind import Kind
from ghost_exporter.metrics import PIPELINE_METRICS, delivery_buckets
from ghost_exporter.probes.errors import classify
from ghost_exporter.probes.httpclient import Marks
from ghost_exporter.probes.observers import (
    HTTPObserver,
    Seen,
    Watcher,
    WatcherPool,
    WebSocketObserver,
    new_canary,
    poll,
)
from ghost_exporter.probes.outbound import build_headers, send, status_ok
from ghost_exporter.results import CanaryRound, FailureReason, Health, ProbeResult
from ghost_exporter.samples import REASONS, Sample, TargetState, histogram

if TYPE_CHECKING:
    from ghost_common.loader import LoadedDocument
    from ghost_exporter.config.model import Target
    from ghost_exporter.probes.clients import ProbeContext


class EmitHTTP(StrictModel):
    """The request that sends a canary in; ``{{canary}}`` in body and headers is its id."""

    url: PlainHTTPURL
    method: HTTPMethod = "POST"
    headers: CanaryHeaders = Field(default_factory=dict)
    body: CanaryText | None = None
    basic_auth: BasicAuth | None = None
    valid_status_codes: StatusCodes = Field(default_factory=list)
    tls_config: TLSConfig = Field(default_factory=TLSConfig)
    max_body_bytes: Size = 64 * 1024

    @model_validator(mode="after")
    def _carries_canary(self) -> EmitHTTP:
        in_headers = any(CANARY in v.get_secret_value() for v in self.headers.values())
        if CANARY not in (self.body or "") and not in_headers:
            raise ValueError(f"the body or a header must carry {CANARY}")
        return self


class Emit(StrictModel):
    http: EmitHTTP


class Observer(StrictModel):
    name: Name
    websocket: WebSocketObserver | None = None
    http: HTTPObserver | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Observer:
        kinds = [k for k in ("websocket", "http") if getattr(self, k) is not None]
        if len(kinds) != 1:
            found = ", ".join(kinds) if kinds else "none"
            raise ValueError(f"needs exactly one of websocket, http (found: {found})")
        return self


class Pipeline(TargetEntry):
    """A canary sent in at one end (``emit``) and watched for at the other (``observe``)."""

    deadline: PositiveDuration = 5.0
    emit: Emit
    observe: list[Observer] = Field(min_length=1, max_length=64)


def round_timeout(spec: Pipeline, timeout: float) -> float:
    """A round connects its observers and emits (each within the timeout), then waits up to
    twice its deadline."""
    return 2 * timeout + 2 * spec.deadline


def pipeline_checks(
    doc: LoadedDocument, defaults: Defaults | None, index: int, pipeline: Pipeline
) -> list[ErrorDetail]:
    details: list[ErrorDetail] = []
    path: tuple[str | int, ...] = ("pipelines", index)
    where = format_path(path)
    interval = pipeline.interval or (defaults or Defaults()).interval
    if 2 * pipeline.deadline >= interval:
        key = "deadline" if "deadline" in pipeline.model_fields_set else "interval"
        details.append(
            ErrorDetail(
                doc.file,
                doc.line_of((*path, key)),
                f"{where}.{key}",
                f"deadline {pipeline.deadline:g}s must be less than half the interval "
                f"{interval:g}s: a round waits up to twice the deadline before the next one",
            )
        )
    seen: dict[str, int] = {}
    for i, observer in enumerate(pipeline.observe):
        if observer.name in seen:
            details.append(
                ErrorDetail(
                    doc.file,
                    doc.line_of((*path, "observe", i, "name")),
                    f"{where}.observe[{i}].name",
                    f"duplicate observer name {observer.name!r} "
                    f"(first used by observe[{seen[observer.name]}])",
                )
            )
        else:
            seen[observer.name] = i
    return details


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
        await self._round(target, spec, ctx, round_, result)

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
        except Exception as exc:  # an emit that failed fails the round, with its reason
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


#: Why an emit can fail: any reason but ``assertion`` (an emit request has no assertions).
EMIT_REASONS: tuple[str, ...] = tuple(r for r in REASONS if r != "assertion")

PIPELINE_UP, DELIVERY, CANARIES, EMIT_FAILURES = PIPELINE_METRICS
OUTCOMES: tuple[str, ...] = ("delivered", "late", "lost")


def outcome(seconds: float | None, deadline: float) -> str:
    """delivered within the deadline, late within twice it, else lost."""
    if seconds is None or seconds > 2 * deadline:
        return "lost"
    return "delivered" if seconds <= deadline else "late"


def round_outcomes(canary: CanaryRound, deadline: float) -> dict[str, str]:
    """Observer -> outcome of an emitted round (empty when the canary was not emitted)."""
    if not canary.emitted:
        return {}
    return {name: outcome(seconds, deadline) for name, seconds in canary.seen.items()}


def round_up(result: ProbeResult, deadline: float) -> bool:
    canary = result.canary
    if canary is None or not canary.emitted:
        return False
    outcomes = round_outcomes(canary, deadline)
    return bool(outcomes) and all(o == "delivered" for o in outcomes.values())


@dataclass(slots=True)
class _Observed:
    buckets: list[int]
    total: float = 0.0
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))


@dataclass(slots=True)
class PipelineState(TargetState):
    """Cumulative canary outcomes and delivery times per observer, and emit failures."""

    observers: dict[str, _Observed] = field(default_factory=dict)
    emit_failures: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EMIT_REASONS, 0))

    def __post_init__(self) -> None:
        self.retarget(self.target)

    def retarget(self, target: Target) -> None:
        """Follow a changed pipeline: observers that stay (with the same deadline, so the same
        buckets) keep their counters."""
        spec = target.spec
        assert isinstance(spec, Pipeline)
        same_buckets = self.deadline == spec.deadline
        self.target = target
        size = len(delivery_buckets(spec.deadline)) + 1
        old = self.observers if same_buckets else {}
        self.observers = {o.name: old.get(o.name) or _Observed([0] * size) for o in spec.observe}

    @property
    def deadline(self) -> float:
        spec = self.target.spec
        assert isinstance(spec, Pipeline)
        return spec.deadline

    def observe(self, result: ProbeResult) -> None:
        TargetState.observe(self, result)
        canary = result.canary
        if canary is None or not canary.emitted:
            reason = (canary.emit_reason if canary else None) or result.reason
            if reason is not None:
                self.emit_failures[reason.value] += 1
            return
        bounds = delivery_buckets(self.deadline)
        for name, kind in round_outcomes(canary, self.deadline).items():
            observed = self.observers.get(name)
            if observed is None:
                continue
            observed.outcomes[kind] += 1
            seconds = canary.seen.get(name)
            if kind == "lost" or seconds is None:
                continue
            observed.total += seconds
            for i, bound in enumerate(bounds):
                if seconds <= bound:
                    observed.buckets[i] += 1
                    break
            else:
                observed.buckets[-1] += 1


def pipeline_samples(state: TargetState) -> Iterator[Sample]:
    assert isinstance(state, PipelineState)
    result = state.last
    if result is None:
        return
    yield PIPELINE_UP, PIPELINE_UP.name, (), 1.0 if round_up(result, state.deadline) else 0.0
    bounds = (*delivery_buckets(state.deadline), math.inf)
    for name in sorted(state.observers):
        observed = state.observers[name]
        running, cumulative = 0, []
        for count in observed.buckets:
            running += count
            cumulative.append(running)
        own = (("observer", name),)
        for family, sample, extra, value in histogram(DELIVERY, bounds, cumulative, observed.total):
            yield family, sample, own + extra, value
        for kind in OUTCOMES:
            labels = (*own, ("outcome", kind))
            yield CANARIES, CANARIES.name, labels, float(observed.outcomes[kind])
    for reason in EMIT_REASONS:
        yield (
            EMIT_FAILURES,
            EMIT_FAILURES.name,
            (("reason", reason),),
            float(state.emit_failures[reason]),
        )


KIND = Kind(
    name="pipeline",
    schema=Pipeline,
    prober=PipelineProber(),
    samples=pipeline_samples,
    families=PIPELINE_METRICS,
    state=PipelineState,
    section="pipelines",
    checks=pipeline_checks,
    round_timeout=round_timeout,
)
