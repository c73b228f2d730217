"""Dashboard variables: datasource, cluster (with a cluster label), job, service, daemon."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.models import dashboard as dashboard_model

from .constants import (
    CLUSTER_LABEL,
    CLUSTER_VARIABLE,
    DATASOURCE_NAME,
    DATASOURCE_UID,
    DATASOURCE_VARIABLE,
    EXPORTER_SELECTOR,
)
from .exprs import CLUSTER, JOB, selector
from .panels import DATASOURCE

_ALL = dashboard_model.VariableOption(selected=True, text="All", value="$__all")


def datasource_variable() -> dashboard_builder.DatasourceVariable:
    """Prometheus datasources; defaults to the provisioned one."""
    return (
        dashboard_builder.DatasourceVariable(DATASOURCE_VARIABLE)
        .label("Data source")
        .type("prometheus")
        .current(
            dashboard_model.VariableOption(
                selected=True, text=DATASOURCE_NAME, value=DATASOURCE_UID
            )
        )
        .multi(False)
        .include_all(False)
    )


def _label_values(
    name: str, label: str, query: str, *, multi: bool
) -> dashboard_builder.QueryVariable:
    variable = (
        dashboard_builder.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(query)
        .definition(query)
        .refresh(dashboard_model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dashboard_model.VariableSort.ALPHABETICAL_ASC)
        .multi(multi)
        .include_all(multi)
        .allow_custom_value(False)
    )
    if multi:
        variable = variable.current(_ALL)
    return variable


#: Series that name every job of a ghost exporter in either way of scraping it: /metrics carries
#: the build info (and, in the scheduled mode, every target's series); /probe answers carry only
#: the probed target's series, under the job of the /probe scrape (prometheus-probe.yml).
JOB_SERIES = ("ghost_exporter_build_info", "ghost_service_up", "ghost_daemon_up")


def _exporter_series(*matchers: str) -> str:
    """Every series of JOB_SERIES, narrowed by the rules' exporter selector and ``matchers``."""
    series = "|".join(JOB_SERIES)
    every = [
        f'__name__=~"{series}"',
        *([EXPORTER_SELECTOR] if EXPORTER_SELECTOR else []),
        *matchers,
    ]
    return "{" + ", ".join(every) + "}"


def cluster_variables() -> list[dashboard_builder.QueryVariable]:
    """The cluster to show, when alerts/config.yml names a cluster label; else none."""
    if not CLUSTER_LABEL:
        return []
    query = f"label_values({_exporter_series()}, {CLUSTER_LABEL})"
    return [_label_values(CLUSTER_VARIABLE, "Cluster", query, multi=False)]


def job_variable() -> dashboard_builder.QueryVariable:
    """Prometheus jobs scraping a ghost exporter's /metrics or its /probe endpoint."""
    matchers = [CLUSTER] if CLUSTER else []
    return _label_values(
        "job", "Job", f"label_values({_exporter_series(*matchers)}, job)", multi=True
    )


def service_variable(*, multi: bool) -> dashboard_builder.QueryVariable:
    """Probed services of the selected jobs; single-valued on the per-service dashboard."""
    return _label_values(
        "service",
        "Service",
        f"label_values({selector('ghost_service_up', JOB)}, service)",
        multi=multi,
    )


def daemon_variable() -> dashboard_builder.QueryVariable:
    """Stress daemons of the selected jobs."""
    return _label_values(
        "daemon", "Daemon", f"label_values({selector('ghost_daemon_up', JOB)}, daemon)", multi=True
    )
