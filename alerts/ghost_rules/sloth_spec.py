"""Sloth's ``prometheus/v1`` SLO spec as a pydantic model, with errors that name the key path.

The document that Sloth's ``sloth generate -i FILE`` reads (https://sloth.dev, Sloth's
``pkg/prometheus/api/v1``)::

    version: prometheus/v1
    service: ghost
    labels: {team: ghost}                     # on every rule of every SLO below
    slos:
      - name: status-api-patches
        objective: 99.9                       # percent, above 0 and below 100
        description: Patch events accepted by status-api.
        labels: {tier: core}                  # merged over the spec's labels
        sli:
          events:                             # or raw: {error_ratio_query: ...}
            error_query: sum(rate(x_total{code=~"5.."}[{{.window}}]))
            total_query: sum(rate(x_total[{{.window}}]))
        alerting:                             # optional: no alert without it
          name: GhostStatusApiPatchesSLO
          labels: {team: ghost}
          annotations: {runbook: https://...}
          page_alert: {labels: {severity: critical}}
          ticket_alert: {disable: true}

Where this model is stricter than Sloth, on purpose:
- unknown keys are errors (Sloth ignores them, so a typo silently drops a setting);
- the objective must be below 100: at 100 the error budget is 0 and every burn rate would be a
  division by zero;
- labels may not start with ``sloth_``: those are the labels that identify an SLO's series;
- ``sli.plugin`` (Sloth's SLI plugins, Go code loaded by the Sloth binary) is refused;
- ``alerting`` may be left out (Sloth then asks for ``page_alert.disable`` and
  ``ticket_alert.disable``): an SLO without ``alerting`` gets its series and no alert.

``sli.raw.errorRatioQuery`` is accepted as another spelling of ``error_ratio_query``, as Sloth's own
examples write it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

VERSION = "prometheus/v1"

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_TEMPLATE_ACTION = re.compile(r"\{\{.*?\}\}", re.DOTALL)
WINDOW_VARIABLE = re.compile(r"\{\{\s*\.window\s*\}\}")
#: Label names that identify an SLO's series; a spec may not set them.
RESERVED_LABEL_PREFIX = "sloth_"


class SlothSpecError(ValueError):
    """A Sloth spec that cannot be used: every problem, each as (key path, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{path}: {message}" for path, message in problems))


def _names(value: dict[str, str], what: str) -> dict[str, str]:
    for name, text in value.items():
        if not _LABEL_NAME.fullmatch(name):
            raise ValueError(f"{what} name {name!r} is not a Prometheus label name")
        if not text:
            raise ValueError(f"{what} {name!r} has an empty value")
    return value


def _labels(value: dict[str, str]) -> dict[str, str]:
    for name in value:
        if name.startswith(RESERVED_LABEL_PREFIX):
            raise ValueError(f"label {name!r}: names starting with sloth_ are set by the rules")
    return _names(value, "label")


def _annotations(value: dict[str, str]) -> dict[str, str]:
    return _names(value, "annotation")


def _query(value: str) -> str:
    query = value.strip()
    if not query:
        raise ValueError("empty query")
    for action in _TEMPLATE_ACTION.findall(query):
        if not WINDOW_VARIABLE.fullmatch(action):
            raise ValueError(f"{action}: the only template variable is {{{{.window}}}}")
    return query


Labels = Annotated[dict[str, str], AfterValidator(_labels)]
Annotations = Annotated[dict[str, str], AfterValidator(_annotations)]
Query = Annotated[str, AfterValidator(_query)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class SliEvents(_Model):
    """Bad events and all events per second over ``{{.window}}``; the ratio is the SLI."""

    error_query: Query
    total_query: Query


class SliRaw(_Model):
    """A query that is already an error ratio (0 to 1) over ``{{.window}}``."""

    error_ratio_query: Query = Field(
        validation_alias=AliasChoices("error_ratio_query", "errorRatioQuery")
    )


class Sli(_Model):
    events: SliEvents | None = None
    raw: SliRaw | None = None
    plugin: dict[str, Any] | None = Field(default=None, strict=False)

    @model_validator(mode="after")
    def _one_kind(self) -> Sli:
        if self.plugin is not None:
            raise ValueError("SLI plugins are not supported: write the plugin's query as raw")
        if (self.events is None) == (self.raw is None):
            raise ValueError("exactly one of events and raw")
        return self


class Alert(_Model):
    """The page (critical) or ticket (warning) alert of an SLO."""

    disable: bool = False
    labels: Labels = Field(default_factory=dict)
    annotations: Annotations = Field(default_factory=dict)


class Alerting(_Model):
    name: str = ""
    labels: Labels = Field(default_factory=dict)
    annotations: Annotations = Field(default_factory=dict)
    page_alert: Alert = Alert()
    ticket_alert: Alert = Alert()

    @model_validator(mode="after")
    def _named(self) -> Alerting:
        enabled = not (self.page_alert.disable and self.ticket_alert.disable)
        if enabled and not self.name:
            raise ValueError("name is required while page_alert or ticket_alert is enabled")
        if self.name and not _LABEL_NAME.fullmatch(self.name):
            raise ValueError(f"name {self.name!r} is not a Prometheus alert name")
        return self


class Slo(_Model):
    name: str = Field(min_length=1)
    objective: float
    description: str = ""
    labels: Labels = Field(default_factory=dict)
    sli: Sli
    alerting: Alerting | None = None

    @field_validator("objective")
    @classmethod
    def _percent(cls, value: float) -> float:
        if not 0 < value < 100:
            raise ValueError(f"{value}: a percentage above 0 and below 100 (99.9 is 99.9%)")
        return value


class Spec(_Model):
    version: Literal["prometheus/v1"]
    service: str = Field(min_length=1)
    labels: Labels = Field(default_factory=dict)
    slos: list[Slo] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Spec:
        seen: set[str] = set()
        for slo in self.slos:
            if slo.name in seen:
                raise ValueError(f"two SLOs named {slo.name!r}")
            seen.add(slo.name)
        return self


def _path(where: str, loc: tuple[str | int, ...]) -> str:
    out = where
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-", "tagged-union")):
            continue
        else:
            out += f".{part}" if out else part
    return out


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "unknown key"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def parse_spec(data: object, where: str = "") -> Spec:
    """Validate one ``prometheus/v1`` document; ``where`` is its key path, e.g. sloth_specs[0].

    Raises SlothSpecError listing every problem as ``where.key.path: message``.
    """
    if not isinstance(data, Mapping):
        raise SlothSpecError([(where, "expected a Sloth prometheus/v1 spec (a mapping)")])
    try:
        return Spec.model_validate(data)
    except ValidationError as exc:
        problems = [(_path(where, error["loc"]), _message(error)) for error in exc.errors()]
        raise SlothSpecError(problems) from None
