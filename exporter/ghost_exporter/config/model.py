"""The validated configuration: frozen targets with intervals, timeouts and labels resolved."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel


@dataclass(frozen=True, slots=True)
class Target:
    """One thing to probe: a service (http, websocket, tcp), a daemon, a reporter or a
    pipeline. What depends on its kind is resolved from the table of kinds when the config is
    read (``ghost_exporter.kinds``)."""

    name: str
    #: Its row in the table of kinds.
    kind: str
    #: Its kind's part of the config entry (the kind's ``schema``).
    spec: BaseModel
    interval: float
    timeout: float
    #: The most one probe may take: the timeout, unless its kind says otherwise.
    round_timeout: float
    #: The label that names this target in its series: ``service``, ``daemon``, …
    identity_label: str = "service"
    #: Whether it is a service (what reporters' claims are compared with).
    is_service: bool = True
    labels: tuple[tuple[str, str], ...] = ()
    #: Further attempts within one probe after a failed one (services only).
    retries: int = 0
    #: Pause between attempts; attempts and pauses all stay within the timeout.
    retry_delay: float = 0.2
    #: The interval while the target fails or is not healthy (its interval when unset).
    interval_when_failing: float | None = None


@dataclass(frozen=True, slots=True)
class Config:
    """A whole configuration; ``source`` is the file it came from."""

    targets: tuple[Target, ...]
    source: str = "<config>"
    by_name: dict[str, Target] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_name.update({t.name: t for t in self.targets})
