"""Every query of the generated dashboards, and template variable substitution.

Used to run each panel's PromQL against a live Prometheus outside Grafana::

    for query in panel_queries(Path("grafana/dashboards")):
        promql = substitute(query.expr, DEFAULT_VALUES)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from .constants import DATASOURCE_UID
from .render import build_all

#: Values of the dashboards' variables and Grafana's built-in ones for a Prometheus scraping
#: every 15 s: ``$__rate_interval`` is max(4 x scrape interval, interval + scrape interval).
#: ``service`` and ``daemon`` match every value, as the "All" option does.
DEFAULT_VALUES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "datasource": DATASOURCE_UID,
        "job": "ghost",
        "service": ".+",
        "daemon": ".+",
        "__interval": "15s",
        "__interval_ms": "15000",
        "__rate_interval": "1m",
        "__range": "1h",
        "__range_s": "3600",
        "__range_ms": "3600000",
    }
)

# $name, ${name}, ${name:format}, [[name]], [[name:format]]
_VARIABLE = re.compile(
    r"\$\{(?P<braced>\w+)(?::\w+)?\}|\[\[(?P<bracketed>\w+)(?::\w+)?\]\]|\$(?P<plain>\w+)"
)
_LABEL_VALUES = re.compile(r"^\s*label_values\((?:(?P<selector>.+),)?\s*(?P<label>\w+)\s*\)\s*$")


@dataclass(frozen=True, slots=True)
class PanelQuery:
    """One target of one panel, as Grafana would run it (before variable substitution).

    ``may_be_empty`` is true for panels whose series legitimately do not exist in a healthy
    system: firing alerts, and the TLS certificate, HTTP status and WebSocket lag of a service
    without TLS, HTTP or a WebSocket feed.
    """

    dashboard_uid: str
    panel_title: str
    ref_id: str
    expr: str
    instant: bool
    may_be_empty: bool


@dataclass(frozen=True, slots=True)
class VariableQuery:
    """A ``label_values([selector,] label)`` query variable of a dashboard."""

    dashboard_uid: str
    name: str
    query: str
    selector: str
    label: str


class MissingVariableError(KeyError):
    """An expression names template variables without a value."""

    def __init__(self, names: set[str], expr: str) -> None:
        super().__init__(f"no value for {', '.join(sorted(names))} in {expr!r}")
        self.names = frozenset(names)


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """Replace Grafana template variables in ``expr`` by ``values`` (keys without ``$``).

    Accepts ``$name``, ``${name}``, ``${name:format}``, ``[[name]]`` and ``[[name:format]]``;
    the value is inserted as given whatever the format. Raises :class:`MissingVariableError`
    naming every variable that has no value.
    """
    missing: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("bracketed") or match.group("plain")
        if name in values:
            return values[name]
        missing.add(name)
        return match.group(0)

    result = _VARIABLE.sub(replace, expr)
    if missing:
        raise MissingVariableError(missing, expr)
    return result


def panel_queries(dashboards_dir: Path) -> list[PanelQuery]:
    """Every Prometheus target of every dashboard JSON file in ``dashboards_dir``."""
    may_be_empty = {built.uid: built.may_be_empty for built in build_all()}
    found = []
    for uid, dashboard in _dashboards(dashboards_dir):
        empty_titles = may_be_empty.get(uid, frozenset())
        for panel in _panels(dashboard):
            title = str(panel.get("title", ""))
            for target in panel.get("targets", []):
                found.append(
                    PanelQuery(
                        dashboard_uid=uid,
                        panel_title=title,
                        ref_id=str(target.get("refId", "")),
                        expr=str(target["expr"]),
                        instant=bool(target.get("instant", False)),
                        may_be_empty=title in empty_titles,
                    )
                )
    return found


def variable_queries(dashboards_dir: Path) -> list[VariableQuery]:
    """Every ``label_values`` query variable of every dashboard JSON file in ``dashboards_dir``."""
    found = []
    for uid, dashboard in _dashboards(dashboards_dir):
        for variable in dashboard.get("templating", {}).get("list", []):
            query = variable.get("query")
            if variable.get("type") != "query" or not isinstance(query, str):
                continue
            match = _LABEL_VALUES.match(query)
            if match is None:
                raise ValueError(f"{uid}: variable {variable['name']}: not label_values: {query}")
            found.append(
                VariableQuery(
                    dashboard_uid=uid,
                    name=str(variable["name"]),
                    query=query,
                    selector=(match.group("selector") or "").strip(),
                    label=match.group("label"),
                )
            )
    return found


def _dashboards(dashboards_dir: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(dashboards_dir.glob("*.json")):
        dashboard: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        yield str(dashboard["uid"]), dashboard


def _panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Top-level panels and the panels of collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])
