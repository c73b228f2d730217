"""The one table of target kinds beyond their probers (``probes.PROBERS``): the state each kind
keeps between probes and the samples it publishes. A new kind is its modules plus one row here
and one in ``probes.PROBERS``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ghost_exporter.agreement import ReporterState, reporter_samples
from ghost_exporter.config import KINDS, Target
from ghost_exporter.delivery import PipelineState, pipeline_samples
from ghost_exporter.metrics import (
    DAEMON_METRICS,
    PIPELINE_METRICS,
    REPORTER_METRICS,
    SERVICE_METRICS,
    MetricDef,
)
from ghost_exporter.samples import Sample, TargetState, daemon_samples, service_samples


@dataclass(frozen=True, slots=True)
class KindEntry:
    state: type[TargetState]
    samples: Callable[[TargetState], Iterator[Sample]]


_SERVICE = KindEntry(TargetState, service_samples)

#: Kind -> how its state is kept and published.
KIND_TABLE: dict[str, KindEntry] = {
    "http": _SERVICE,
    "websocket": _SERVICE,
    "tcp": _SERVICE,
    "daemon": KindEntry(TargetState, daemon_samples),
    "reporter": KindEntry(ReporterState, reporter_samples),
    "pipeline": KindEntry(PipelineState, pipeline_samples),
}
assert set(KIND_TABLE) == set(KINDS)

#: Families published per target, in exposition order.
TARGET_FAMILIES: tuple[MetricDef, ...] = (
    SERVICE_METRICS + DAEMON_METRICS + REPORTER_METRICS + PIPELINE_METRICS
)


def new_state(target: Target) -> TargetState:
    return KIND_TABLE[target.kind].state(target)


def target_samples(state: TargetState) -> Iterator[Sample]:
    return KIND_TABLE[state.target.kind].samples(state)
