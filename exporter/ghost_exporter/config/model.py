"""The validated configuration: frozen targets with intervals, timeouts and labels resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

from ghost_exporter.config.schema import (
    Daemon,
    HTTPProbe,
    Pipeline,
    Reporter,
    TCPProbe,
    WebSocketProbe,
)

Kind = Literal["http", "websocket", "tcp", "daemon", "reporter", "pipeline"]
Spec = HTTPProbe | WebSocketProbe | TCPProbe | Daemon | Reporter | Pipeline

#: Every kind, in the order of the table.
KINDS: tuple[Kind, ...] = get_args(Kind)
#: The kinds that are services (what reporters are compared with).
SERVICE_KINDS: frozenset[str] = frozenset({"http", "websocket", "tcp"})
#: The label naming a target in its series, by kind (services by default).
IDENTITY_LABELS: dict[str, str] = {
    "daemon": "daemon",
    "reporter": "reporter",
    "pipeline": "pipeline",
}


@dataclass(frozen=True, slots=True)
class Target:
    """One thing to probe: a service (http, websocket, tcp), a daemon, a reporter or a
    pipeline."""

    name: str
    kind: Kind
    spec: Spec
    interval: float
    timeout: float
    labels: tuple[tuple[str, str], ...] = ()
    #: Further attempts within one probe after a failed one (services only).
    retries: int = 0
    #: Pause between attempts; attempts and pauses all stay within the timeout.
    retry_delay: float = 0.2
    #: The interval while the target fails or is not healthy (its interval when unset).
    interval_when_failing: float | None = None

    @property
    def identity_label(self) -> str:
        """The label that names this target in its series: ``service``, ``daemon``, …"""
        return IDENTITY_LABELS.get(self.kind, "service")

    @property
    def is_service(self) -> bool:
        return self.kind in SERVICE_KINDS

    @property
    def round_timeout(self) -> float:
        """The most one probe of this target may take: its timeout, except for a pipeline,
        whose round connects its observers and emits (each within the timeout) and then waits
        up to twice its deadline."""
        if isinstance(self.spec, Pipeline):
            return 2 * self.timeout + 2 * self.spec.deadline
        return self.timeout


@dataclass(frozen=True, slots=True)
class Config:
    """A whole configuration; ``source`` is the file it came from."""

    targets: tuple[Target, ...]
    source: str = "<config>"
    by_name: dict[str, Target] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_name.update({t.name: t for t in self.targets})
