"""The validated configuration: frozen targets with intervals, timeouts and labels resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ghost_exporter.config.schema import Daemon, HTTPProbe, TCPProbe, WebSocketProbe

Kind = Literal["http", "websocket", "tcp", "daemon"]
Spec = HTTPProbe | WebSocketProbe | TCPProbe | Daemon


@dataclass(frozen=True, slots=True)
class Target:
    """One thing to probe: a service (http, websocket, tcp) or a daemon."""

    name: str
    kind: Kind
    spec: Spec
    interval: float
    timeout: float
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def identity_label(self) -> str:
        """The label that names this target in its series: ``daemon`` or ``service``."""
        return "daemon" if self.kind == "daemon" else "service"


@dataclass(frozen=True, slots=True)
class Config:
    """A whole configuration; ``source`` is the file it came from."""

    targets: tuple[Target, ...]
    source: str = "<config>"
    by_name: dict[str, Target] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_name.update({t.name: t for t in self.targets})
