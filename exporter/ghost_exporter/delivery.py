"""Pipelines: what became of each round's canary, per observer, as counters and a histogram."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from ghost_exporter.config import Target
from ghost_exporter.config.schema import Pipeline
from ghost_exporter.metrics import PIPELINE_METRICS, delivery_buckets
from ghost_exporter.probes import CanaryRound, ProbeResult
from ghost_exporter.samples import REASONS, Sample, TargetState, histogram

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
