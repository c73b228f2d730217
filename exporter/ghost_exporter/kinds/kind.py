"""What a probe kind declares, and what is derived from a table of kinds.

A kind is one module of this package that declares, as one ``Kind``: its config schema (the
pydantic model of its part of the file), its prober, the state the exporter keeps of one of its
targets between probes, and the samples that state publishes, with their metric families.
``ghost_exporter.kinds.KIND_TABLE`` registers the kinds; the model of the whole config file, the
list of kinds and the families published per target are derived from that table here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, create_model

from ghost_exporter.config.schema import Defaults, ServiceEntry, StrictModel
from ghost_exporter.metrics import MetricDef
from ghost_exporter.samples import Sample, TargetState

if TYPE_CHECKING:
    from ghost_common.errors import ErrorDetail
    from ghost_common.loader import LoadedDocument
    from ghost_exporter.probes.base import Prober

#: The section of the service kinds: such a kind is one key of a ``services`` entry.
SERVICES = "services"
#: Top-level keys of the config file that are not sections of kinds.
_NOT_SECTIONS = frozenset({"defaults"})

#: Checks of one entry of a kind's section against the rest of the file: (document, defaults,
#: index of the entry in its section, the validated entry) -> line-marked errors.
Checks = Callable[["LoadedDocument", Defaults | None, int, Any], list["ErrorDetail"]]
#: The most one probe of a target may take: (its spec, its timeout) -> seconds.
RoundTimeout = Callable[[Any, float], float]


@dataclass(frozen=True, slots=True)
class Kind:
    """One probe kind, as its module declares it.

    A service kind (``section`` left at ``services``) is one key of a ``services`` entry, and
    ``schema`` is the model under that key. Any other kind has a top-level section of its own: a
    list of entries, each of them a ``schema``.
    """

    #: The kind's name: a service entry's key, the ``kind`` label of ``ghost_exporter_targets``.
    name: str
    #: The pydantic model of the kind's part of the config file.
    schema: type[BaseModel]
    #: Probes one target; what it raises is classified by the caller (``probes.timeout``).
    prober: Prober
    #: The samples of one target, from its state; each one of ``families``.
    samples: Callable[[TargetState], Iterator[Sample]]
    #: The metric families the samples belong to, in exposition order.
    families: tuple[MetricDef, ...]
    #: What the exporter keeps of one target between probes.
    state: type[TargetState] = TargetState
    #: The top-level key of the config file that lists the kind's targets.
    section: str = SERVICES
    #: Checks of an entry against the rest of the file, when the kind has any.
    checks: Checks | None = None
    #: The most one probe may take, when it is not the target's timeout.
    round_timeout: RoundTimeout | None = None

    @property
    def is_service(self) -> bool:
        """Whether its targets are services (what reporters' claims are compared with)."""
        return self.section == SERVICES

    @property
    def identity_label(self) -> str:
        """The label naming a target in its series: ``service``, or the kind's name."""
        return "service" if self.is_service else self.name


#: A table of kinds: name -> kind, in the order of the config file and of the exposition.
KindTable = Mapping[str, Kind]


def check_table(table: KindTable) -> None:
    """Refuse a table whose kinds would clash in the config file; raises ValueError."""
    sections: dict[str, str] = {}
    for name, kind in table.items():
        if kind.name != name:
            raise ValueError(f"kind {kind.name!r} is registered as {name!r}")
        if kind.is_service:
            if name in ServiceEntry.model_fields:
                raise ValueError(f"service kind {name!r} clashes with a key of every service")
            continue
        if kind.section in _NOT_SECTIONS or kind.section in sections:
            raise ValueError(f"kind {name!r}: section {kind.section!r} is taken")
        sections[kind.section] = name


def sections(table: KindTable) -> dict[str, tuple[Kind, ...]]:
    """Top-level section -> the kinds listed in it, both in the order of the table."""
    found: dict[str, list[Kind]] = {}
    for kind in table.values():
        found.setdefault(kind.section, []).append(kind)
    return {section: tuple(kinds) for section, kinds in found.items()}


def config_file_model(table: KindTable) -> type[BaseModel]:
    """The model of the whole config file: ``defaults``, then each kind's section."""
    fields: dict[str, Any] = {"defaults": (Defaults, Field(default_factory=Defaults))}
    for section, kinds in sections(table).items():
        entries: Any = list[_entry_model(section, kinds)]  # type: ignore[misc]
        fields[section] = (entries, Field(default_factory=list))
    return create_model("ConfigFile", __base__=StrictModel, **fields)


def _entry_model(section: str, kinds: tuple[Kind, ...]) -> Any:
    """The model of one entry of ``section``: a service with one key per service kind, or the
    schema of the section's one kind."""
    if section != SERVICES:
        (kind,) = kinds
        return kind.schema
    keys: dict[str, Any] = {k.name: (k.schema | None, None) for k in kinds}
    return create_model("Service", __base__=ServiceEntry, **keys)


def target_families(table: KindTable) -> tuple[MetricDef, ...]:
    """Every family published per target, each once, in the order of the table."""
    families: dict[str, MetricDef] = {}
    for kind in table.values():
        for family in kind.families:
            families.setdefault(family.name, family)
    return tuple(families.values())
