"""Sloth-compatible SLO rules: the series Sloth's Grafana dashboards read, under Sloth's names.

For each SLO this builds the three rule groups ``sloth generate`` would write for it (Sloth's
``prometheus/v1`` spec, default windows catalog), as plain dicts ready for YAML:

- ``sloth-sli-ID``: ``slo:sli_error:ratio_rate5m``, ``_rate30m``, ``_rate1h``,
  ``_rate2h``, ``_rate6h``, ``_rate1d``, ``_rate3d`` from the SLO's queries, and the period's ratio
  (``slo:sli_error:ratio_rate30d``; ``_rate4w`` for a 28-day period) computed as Sloth does, from
  the 5m ratio: ``sum_over_time(5m[30d]) / count_over_time(5m[30d])``;
- ``sloth-meta-ID``: ``slo:objective:ratio``, ``slo:error_budget:ratio``,
  ``slo:time_period:days``, ``slo:current_burn_rate:ratio`` (5m ratio / budget),
  ``slo:period_burn_rate:ratio`` (period ratio / budget),
  ``slo:period_error_budget_remaining:ratio`` (1 - period burn rate) and ``sloth_slo_info``;
- ``sloth-alerts-ID``, only for an SLO with alerts: Sloth's multi-window, multi-burn-rate page
  alert (5m and 1h over 14.4x the budget, or 30m and 6h over 6x) and ticket alert (2h and 1d over
  3x, or 6h and 3d over 1x), both named by the spec's ``alerting.name``.

Every series carries ``sloth_id`` (``SERVICE-NAME``), ``sloth_service``, ``sloth_slo`` and the
spec's labels; the error ratios also ``sloth_window``. Names, labels, group names and the metadata
and alert expressions are Sloth's own, so Sloth's dashboards and queries work unchanged.

Zero traffic: a window without events has no error ratio. The series is absent, never NaN and
never 0. This is the one place where the expressions differ from Sloth's:

- events: ``(errors or 0 * total) / (total > 0)``: when nothing happened in the window the
  division has no sample, and when events happened but no error series exists yet the ratio is 0;
- raw: ``(query) >= 0``: a NaN (0/0 inside the query) is dropped.

Why absent rather than 0 or NaN: a NaN sample in the 5m ratio would make the 30-day
``sum_over_time`` NaN for 30 days (and the period burn rate and remaining budget with it); a 0
would claim a perfect SLI for idle time and dilute the period ratio of a bursty patch pipeline. So
the period ratio averages only the windows in which something happened, the burn rates are absent
while idle, and no alert fires: every alert condition needs a short-window ratio above the
threshold, which an idle window does not have. ``slo:objective:ratio``, ``slo:error_budget:ratio``,
``slo:time_period:days`` and ``sloth_slo_info`` are constants and always present.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .sloth_spec import WINDOW_VARIABLE, parse_spec

DEFAULT_PERIOD_DAYS = 30
SPEC = "prometheus/v1"
#: sloth_slo_info's sloth_mode: Sloth's name for rules generated as Prometheus rule files.
MODE = "cli-gen-prom"
#: sloth_slo_info's sloth_version: the generator (Sloth writes its own version there).
GENERATOR = "ghost-exporter"

SLI_ERROR_METRIC = "slo:sli_error:ratio_rate{window}"
ID_LABEL = "sloth_id"
SERVICE_LABEL = "sloth_service"
SLO_LABEL = "sloth_slo"
WINDOW_LABEL = "sloth_window"
SEVERITY_LABEL = "sloth_severity"

_MINUTE = 60
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR


@dataclass(frozen=True, slots=True)
class _Window:
    """One multi-window alert: the share of the period's budget spent over the long window."""

    budget_percent: float
    short: int  # seconds
    long: int


#: Sloth's default catalog (Google SRE workbook): the same windows for its 28- and 30-day periods.
_PAGE_QUICK = _Window(2, 5 * _MINUTE, _HOUR)
_PAGE_SLOW = _Window(5, 30 * _MINUTE, 6 * _HOUR)
_TICKET_QUICK = _Window(10, 2 * _HOUR, _DAY)
_TICKET_SLOW = _Window(10, 6 * _HOUR, 3 * _DAY)
PERIODS_DAYS = (28, 30)


@dataclass(frozen=True, slots=True)
class EventsSli:
    """Bad and all events per second, each a query with ``{{.window}}`` as its range."""

    error_query: str
    total_query: str


@dataclass(frozen=True, slots=True)
class RawSli:
    """A query that already is the error ratio (0 to 1) over ``{{.window}}``."""

    error_ratio_query: str


@dataclass(frozen=True, slots=True)
class SloAlert:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SLO:
    """One service level objective, as Sloth models it (objective in percent)."""

    service: str
    name: str
    objective: float
    sli: EventsSli | RawSli
    labels: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    period_days: int = DEFAULT_PERIOD_DAYS
    page_alert: SloAlert | None = None
    ticket_alert: SloAlert | None = None

    def __post_init__(self) -> None:
        if not 0 < self.objective < 100:
            raise ValueError(f"SLO {self.id}: objective {self.objective} is not in (0, 100)")
        if self.period_days not in PERIODS_DAYS:
            raise ValueError(
                f"SLO {self.id}: a {self.period_days}-day period is not in Sloth's catalog "
                f"({', '.join(f'{days}d' for days in PERIODS_DAYS)})"
            )

    @property
    def id(self) -> str:
        return f"{self.service}-{self.name}"

    @property
    def id_labels(self) -> dict[str, str]:
        return {ID_LABEL: self.id, SERVICE_LABEL: self.service, SLO_LABEL: self.name}


# --------------------------------------------------------------------------------------------
# From a Sloth spec


def slos_from_spec(
    spec: object, where: str = "", *, period_days: int = DEFAULT_PERIOD_DAYS
) -> list[SLO]:
    """The SLOs of one ``prometheus/v1`` document; ``where`` is its key path in the config.

    Raises sloth_spec.SlothSpecError (a ValueError) naming ``where.key.path`` of every problem.
    """
    parsed = parse_spec(spec, where)
    slos = []
    for item in parsed.slos:
        sli: EventsSli | RawSli
        if item.sli.events is not None:
            sli = EventsSli(item.sli.events.error_query, item.sli.events.total_query)
        else:
            assert item.sli.raw is not None  # the model requires exactly one
            sli = RawSli(item.sli.raw.error_ratio_query)
        page = ticket = None
        if item.alerting is not None:
            alerting = item.alerting
            if not alerting.page_alert.disable:
                page = SloAlert(
                    alerting.name,
                    {**alerting.labels, **alerting.page_alert.labels},
                    {**alerting.annotations, **alerting.page_alert.annotations},
                )
            if not alerting.ticket_alert.disable:
                ticket = SloAlert(
                    alerting.name,
                    {**alerting.labels, **alerting.ticket_alert.labels},
                    {**alerting.annotations, **alerting.ticket_alert.annotations},
                )
        slos.append(
            SLO(
                service=parsed.service,
                name=item.name,
                objective=item.objective,
                sli=sli,
                labels={**parsed.labels, **item.labels},
                description=item.description,
                period_days=period_days,
                page_alert=page,
                ticket_alert=ticket,
            )
        )
    return slos


# --------------------------------------------------------------------------------------------
# Rules


def sloth_groups(slos: Sequence[SLO], *, interval: str | None = None) -> list[dict[str, Any]]:
    """Sloth's rule groups of every SLO, in order; ``interval`` is each group's evaluation interval.

    Raises ValueError when two SLOs have the same sloth_id (their groups would clash).
    """
    seen: set[str] = set()
    groups: list[dict[str, Any]] = []
    for slo in slos:
        if slo.id in seen:
            raise ValueError(f"two SLOs with sloth_id {slo.id!r}")
        seen.add(slo.id)
        groups.append(_group(f"sloth-sli-{slo.id}", interval, _sli_rules(slo)))
        groups.append(_group(f"sloth-meta-{slo.id}", interval, _meta_rules(slo)))
        alerts = _alert_rules(slo)
        if alerts:
            groups.append(_group(f"sloth-alerts-{slo.id}", interval, alerts))
    return groups


def _group(name: str, interval: str | None, rules: list[dict[str, Any]]) -> dict[str, Any]:
    group: dict[str, Any] = {"name": name}
    if interval is not None:
        group["interval"] = interval
    group["rules"] = rules
    return group


def _sli_rules(slo: SLO) -> list[dict[str, Any]]:
    period = slo.period_days * _DAY
    rules = [
        {
            "record": sli_error_metric(window),
            "expr": _sli_expr(slo.sli, prom_duration(window)),
            "labels": _sorted({**slo.id_labels, WINDOW_LABEL: prom_duration(window)}, slo.labels),
        }
        for window in alert_windows()
    ]
    # The period's ratio from the 5m one (Sloth's "optimized" rule): the mean of the 5m ratios
    # over the period. Its series keep the 5m series' labels; Sloth's rule sets only the window,
    # the id labels here (same values) keep promtool from reporting the rules of two SLOs in one
    # file as duplicates.
    short = sli_error_metric(_PAGE_QUICK.short) + _filter(slo)
    span = prom_duration(period)
    rules.append(
        {
            "record": sli_error_metric(period),
            "expr": _lines(
                f"sum_over_time({short}[{span}])",
                f"/ ignoring ({WINDOW_LABEL})",
                f"count_over_time({short}[{span}])",
            ),
            "labels": {**slo.id_labels, WINDOW_LABEL: span},
        }
    )
    return rules


def _sli_expr(sli: EventsSli | RawSli, window: str) -> str:
    if isinstance(sli, RawSli):
        return f"({render_window(sli.error_ratio_query, window)}) >= 0"
    errors = render_window(sli.error_query, window)
    total = render_window(sli.total_query, window)
    return _lines("(", f"  ({errors})", "  or", f"  0 * ({total})", ")", "/", f"(({total}) > 0)")


def _meta_rules(slo: SLO) -> list[dict[str, Any]]:
    objective = slo.objective / 100
    selector = _filter(slo)

    def burn_rate(ratio: str) -> str:
        return _lines(
            f"{ratio}{selector}",
            f"/ on({ID_LABEL}, {SLO_LABEL}, {SERVICE_LABEL}) group_left",
            f"slo:error_budget:ratio{selector}",
        )

    labels = _sorted(slo.id_labels, slo.labels)
    info = {
        **labels,
        "sloth_mode": MODE,
        "sloth_objective": _plain_number(slo.objective),
        "sloth_spec": SPEC,
        "sloth_version": GENERATOR,
    }
    return [
        {
            "record": "slo:objective:ratio",
            "expr": f"vector({go_float(objective)})",
            "labels": dict(labels),
        },
        {
            "record": "slo:error_budget:ratio",
            "expr": f"vector(1-{go_float(objective)})",
            "labels": dict(labels),
        },
        {
            "record": "slo:time_period:days",
            "expr": f"vector({slo.period_days})",
            "labels": dict(labels),
        },
        {
            "record": "slo:current_burn_rate:ratio",
            "expr": burn_rate(sli_error_metric(_PAGE_QUICK.short)),
            "labels": dict(labels),
        },
        {
            "record": "slo:period_burn_rate:ratio",
            "expr": burn_rate(sli_error_metric(slo.period_days * _DAY)),
            "labels": dict(labels),
        },
        {
            "record": "slo:period_error_budget_remaining:ratio",
            "expr": f"1 - slo:period_burn_rate:ratio{selector}",
            "labels": dict(labels),
        },
        {"record": "sloth_slo_info", "expr": "vector(1)", "labels": dict(sorted(info.items()))},
    ]


def _alert_rules(slo: SLO) -> list[dict[str, Any]]:
    rules = []
    tiers = (
        ("page", slo.page_alert, _PAGE_QUICK, _PAGE_SLOW),
        ("ticket", slo.ticket_alert, _TICKET_QUICK, _TICKET_SLOW),
    )
    for severity, alert, quick, slow in tiers:
        if alert is None:
            continue
        annotations = {
            "title": f"({severity}) {{{{$labels.{SERVICE_LABEL}}}}} {{{{$labels.{SLO_LABEL}}}}} "
            "SLO error budget burn rate is too fast.",
            "summary": f"{{{{$labels.{SERVICE_LABEL}}}}} {{{{$labels.{SLO_LABEL}}}}} "
            "SLO error budget burn rate is over expected.",
            **alert.annotations,
        }
        rules.append(
            {
                "alert": alert.name,
                "expr": _alert_expr(slo, quick, slow),
                "labels": dict(sorted({SEVERITY_LABEL: severity, **alert.labels}.items())),
                "annotations": dict(sorted(annotations.items())),
            }
        )
    return rules


def _alert_expr(slo: SLO, quick: _Window, slow: _Window) -> str:
    budget = go_float((100 - slo.objective) / 100)
    selector = _filter(slo)

    def over(window: int, factor: float) -> str:
        return f"({sli_error_metric(window)}{selector} > ({go_float(factor)} * {budget}))"

    def pair(window: _Window) -> list[str]:
        factor = burn_rate_factor(slo.period_days, window)
        return [
            "(",
            f"    {over(window.short, factor)}",
            f"    and ignoring ({WINDOW_LABEL})",
            f"    {over(window.long, factor)}",
            ")",
        ]

    return _lines(*pair(quick), f"or ignoring ({WINDOW_LABEL})", *pair(slow))


def burn_rate_factor(period_days: int, window: _Window) -> float:
    """How many times the sustainable rate spends ``budget_percent`` of the budget over ``long``
    (Sloth's formula, in its order of operations: 2% of 30 days over 1h is 14.4)."""
    hours_required = window.budget_percent * (period_days * 24) / 100
    return hours_required / (window.long / _HOUR)


def alert_windows() -> list[int]:
    """The error-ratio windows the alerts read, in seconds, shortest first."""
    windows = {_PAGE_QUICK, _PAGE_SLOW, _TICKET_QUICK, _TICKET_SLOW}
    return sorted({w.short for w in windows} | {w.long for w in windows})


def sli_error_metric(window_seconds: int) -> str:
    return SLI_ERROR_METRIC.format(window=prom_duration(window_seconds))


def render_window(query: str, window: str) -> str:
    """``query`` with every ``{{.window}}`` replaced by ``window``."""
    return WINDOW_VARIABLE.sub(window, query.strip())


def _filter(slo: SLO) -> str:
    matchers = ", ".join(f'{k}="{_escape(v)}"' for k, v in sorted(slo.id_labels.items()))
    return "{" + matchers + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _sorted(*label_sets: Mapping[str, str]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for labels in label_sets:
        merged.update(labels)
    return dict(sorted(merged.items()))


def _lines(*lines: str) -> str:
    return "\n".join(lines)


def prom_duration(seconds: int) -> str:
    """A duration as Prometheus prints it (weeks and years only when whole: 28d is 4w, 30d 30d)."""
    if seconds == 0:
        return "0s"
    out = ""
    for unit, size, whole_only in (
        ("y", 365 * _DAY, True),
        ("w", 7 * _DAY, True),
        ("d", _DAY, False),
        ("h", _HOUR, False),
        ("m", _MINUTE, False),
        ("s", 1, False),
    ):
        if whole_only and seconds % size:
            continue
        if seconds >= size:
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out


def go_float(value: float) -> str:
    """A float as Go's ``%v`` prints it: the shortest text that reads back the same (14.4, 6)."""
    text = repr(float(value))
    return text.removesuffix(".0")


def _plain_number(value: float) -> str:
    """A float without exponent or trailing zeros, like Go's FormatFloat(v, 'f', -1): 99.9, 95."""
    text = format(Decimal(repr(float(value))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
