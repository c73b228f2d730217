"""The one table of probe kinds, as blackbox_exporter's ``prober/handler.go`` maps names to probers.

Each kind is one module of this package that declares its config schema, its prober, its state
and its samples (``kind.Kind``). Adding a kind is its module and one row here: the model of the
config file, ``KINDS`` and the families published per target all derive from this table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ghost_exporter.kinds import daemon, http, pipeline, reporter, tcp, websocket
from ghost_exporter.kinds.kind import (
    Kind,
    KindTable,
    check_table,
    config_file_model,
    target_families,
)

if TYPE_CHECKING:
    from ghost_exporter.config.model import Target
    from ghost_exporter.samples import Sample, TargetState

#: Kind name -> kind, in the order of the config file's sections and of the exposition.
KIND_TABLE: KindTable = {
    kind.name: kind
    for kind in (
        http.KIND,
        websocket.KIND,
        tcp.KIND,
        daemon.KIND,
        reporter.KIND,
        pipeline.KIND,
    )
}
check_table(KIND_TABLE)

#: Every kind, in the order of the table.
KINDS: tuple[str, ...] = tuple(KIND_TABLE)
#: The pydantic model of the whole config file.
ConfigFile = config_file_model(KIND_TABLE)
#: Families published per target, in exposition order.
TARGET_FAMILIES = target_families(KIND_TABLE)


def new_state(target: Target) -> TargetState:
    return KIND_TABLE[target.kind].state(target)


def target_samples(state: TargetState) -> Iterator[Sample]:
    return KIND_TABLE[state.target.kind].samples(state)


__all__ = [
    "KINDS",
    "KIND_TABLE",
    "TARGET_FAMILIES",
    "ConfigFile",
    "Kind",
    "KindTable",
    "new_state",
    "target_samples",
]
