"""Dashboard variables: datasource, job, service, daemon."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.models import dashboard as dashboard_model

from .constants import DATASOURCE_NAME, DATASOURCE_UID, DATASOURCE_VARIABLE
from .exprs import JOB, selector
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


def job_variable() -> dashboard_builder.QueryVariable:
    """Prometheus jobs scraping a ghost exporter's /metrics or its /probe endpoint."""
    series = "|".join(JOB_SERIES)
    return _label_values("job", "Job", f'label_values({{__name__=~"{series}"}}, job)', multi=True)


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
