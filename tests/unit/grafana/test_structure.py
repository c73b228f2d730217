"""Structure of the committed dashboards: layout, datasources, variables, units, links."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
import yaml

from ghost_dashboards import build_all
from ghost_dashboards.constants import DATASOURCE_REF_UID, DATASOURCE_UID, TAG
from ghost_exporter.metrics import ALL_METRICS
from ghost_remediate.metrics import REMEDIATION_METRICS

from .conftest import PROVISIONING, Dashboard, load_dashboards, panels, query_panels
from .rules import FIXED_RULES

DASHBOARDS = load_dashboards()
EXPECTED_UIDS = {"ghost-overview", "ghost-service", "ghost-patches"}
GRID_WIDTH = 24
PROMETHEUS_DATASOURCE = {"type": "prometheus", "uid": DATASOURCE_REF_UID}
BUILT_IN_VARIABLES = {"__interval", "__interval_ms", "__rate_interval", "__range", "__range_s"}

# $name, ${name}, ${name:format}, [[name]]
VARIABLE_USE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)(?::\w+)?\]\]|\$(\w+)")
# metric{matchers}: the selectors of a PromQL expression
SELECTOR = re.compile(r"([A-Za-z_:][\w:]*)\{([^}]*)\}")
HISTOGRAM_SUFFIX = re.compile(r"_(bucket|sum|count)$")
#: ghost-remediate's series: Prometheus scrapes it as a job of its own, not one of $job.
REMEDIATION_SERIES = frozenset(metric.name for metric in REMEDIATION_METRICS)
SERIES_LABELS: dict[str, tuple[str, ...]] = {
    **{metric.name: metric.labels for metric in ALL_METRICS},
    **{metric.name: metric.labels for metric in REMEDIATION_METRICS},
    **FIXED_RULES,
}

by_name = pytest.mark.parametrize("name", sorted(DASHBOARDS))


def variables(dashboard: Dashboard) -> dict[str, dict[str, Any]]:
    return {variable["name"]: variable for variable in dashboard["templating"]["list"]}


def targets(dashboard: Dashboard) -> list[tuple[str, dict[str, Any]]]:
    return [
        (panel["title"], target)
        for panel in query_panels(dashboard)
        for target in panel.get("targets", [])
    ]


def test_the_three_dashboards_exist_with_stable_uids() -> None:
    uids = [dashboard["uid"] for dashboard in DASHBOARDS.values()]
    assert sorted(uids) == sorted(EXPECTED_UIDS)
    assert len(set(uids)) == len(uids)
    for name, dashboard in DASHBOARDS.items():
        assert name == dashboard["uid"] + ".json"
        assert dashboard["uid"] == "ghost-" + dashboard["title"].split()[-1].lower()


@by_name
def test_schema_version_is_42(name: str) -> None:
    assert DASHBOARDS[name]["schemaVersion"] == 42


@by_name
def test_panels_fit_the_grid_without_overlapping(name: str) -> None:
    rectangles = []
    for panel in panels(DASHBOARDS[name]):
        pos = panel["gridPos"]
        assert min(pos["w"], pos["h"]) > 0, panel["title"]
        assert min(pos["x"], pos["y"]) >= 0, panel["title"]
        assert pos["x"] + pos["w"] <= GRID_WIDTH, panel["title"]
        rectangles.append((panel["title"], pos))
    for (title_a, a), (title_b, b) in itertools.combinations(rectangles, 2):
        apart = (
            a["x"] + a["w"] <= b["x"]
            or b["x"] + b["w"] <= a["x"]
            or a["y"] + a["h"] <= b["y"]
            or b["y"] + b["h"] <= a["y"]
        )
        assert apart, f"{title_a!r} overlaps {title_b!r}"


@by_name
def test_panels_have_unique_ids_and_titles(name: str) -> None:
    found = panels(DASHBOARDS[name])
    ids = [panel["id"] for panel in found]
    titles = [panel["title"] for panel in found]
    assert len(set(ids)) == len(ids)
    assert all(titles)
    assert len(set(titles)) == len(titles)


@by_name
def test_every_panel_and_target_uses_the_datasource_variable(name: str) -> None:
    for panel in panels(DASHBOARDS[name]):
        assert panel["datasource"] == PROMETHEUS_DATASOURCE, panel["title"]
    for panel in query_panels(DASHBOARDS[name]):
        assert panel.get("targets"), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == PROMETHEUS_DATASOURCE, panel["title"]
            assert target["expr"].strip(), panel["title"]


@by_name
def test_every_target_has_a_unique_ref_id(name: str) -> None:
    for panel in query_panels(DASHBOARDS[name]):
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(set(ref_ids)) == len(ref_ids), panel["title"]


@by_name
def test_every_panel_sets_a_unit_and_thresholds(name: str) -> None:
    for panel in query_panels(DASHBOARDS[name]):
        defaults = panel["fieldConfig"]["defaults"]
        assert defaults.get("unit"), panel["title"]
        steps = defaults["thresholds"]["steps"]
        assert steps, panel["title"]
        assert steps[0]["value"] is None, panel["title"]
        values = [step["value"] for step in steps[1:]]
        assert values == sorted(values), panel["title"]


@by_name
def test_datasource_variable_defaults_to_the_provisioned_datasource(name: str) -> None:
    provisioned = yaml.safe_load(
        (PROVISIONING / "datasources" / "ghost.yml").read_text(encoding="utf-8")
    )["datasources"][0]
    variable = variables(DASHBOARDS[name])["datasource"]
    assert variable["type"] == "datasource"
    assert variable["query"] == "prometheus"
    assert variable["current"]["value"] == provisioned["uid"] == DATASOURCE_UID
    assert variable["current"]["text"] == provisioned["name"]


@by_name
def test_job_variable_lists_the_jobs_scraping_an_exporter(name: str) -> None:
    variable = variables(DASHBOARDS[name])["job"]
    assert variable["type"] == "query"
    assert variable["datasource"] == PROMETHEUS_DATASOURCE
    # Series of both ways of scraping: /metrics has the build info, /probe answers only the
    # probed target's series (no ghost_exporter_* family), under the /probe job.
    assert variable["query"] == (
        'label_values({__name__=~"ghost_exporter_build_info|ghost_service_up|ghost_daemon_up"}'
        ", job)"
    )


@by_name
def test_provisioned_dashboards_are_read_only(name: str) -> None:
    assert DASHBOARDS[name]["editable"] is False


def test_service_and_daemon_variables_are_where_they_are_used() -> None:
    names = {dashboard["uid"]: set(variables(dashboard)) for dashboard in DASHBOARDS.values()}
    assert names["ghost-overview"] == {"datasource", "job", "service", "daemon"}
    assert names["ghost-service"] == {"datasource", "job", "service"}
    assert names["ghost-patches"] == {"datasource", "job", "daemon"}
    service = variables(DASHBOARDS["ghost-service.json"])["service"]
    assert service["multi"] is False
    assert service["includeAll"] is False
    for dashboard in DASHBOARDS.values():
        for variable in variables(dashboard).values():
            if variable["name"] in {"service", "daemon"}:
                assert variable["query"] == (
                    f'label_values(ghost_{variable["name"]}_up{{job=~"$job"}}, {variable["name"]})'
                )


@by_name
def test_every_variable_a_query_uses_is_defined(name: str) -> None:
    dashboard = DASHBOARDS[name]
    defined = set(variables(dashboard)) | BUILT_IN_VARIABLES
    texts = [target["expr"] for _, target in targets(dashboard)]
    texts += [str(variable.get("query", "")) for variable in variables(dashboard).values()]
    for text in texts:
        used = {next(filter(None, groups)) for groups in VARIABLE_USE.findall(text)}
        assert used <= defined, text


@by_name
def test_exporter_series_are_filtered_by_job_and_the_dashboard_variables(name: str) -> None:
    """Raw series carry job; recording rules aggregate it away (they keep service or daemon)."""
    dashboard = DASHBOARDS[name]
    defined = set(variables(dashboard))
    for title, target in targets(dashboard):
        selectors = SELECTOR.findall(target["expr"])
        assert selectors, f"{title}: no selector in {target['expr']}"
        for metric, matchers in selectors:
            if metric == "ALERTS":
                assert 'alertname=~"Ghost.*"' in matchers, title
                continue
            if HISTOGRAM_SUFFIX.sub("", metric) in REMEDIATION_SERIES:
                assert "job=" not in matchers, f"{title}: {metric}"
            elif ":" not in metric:
                assert 'job=~"$job"' in matchers, f"{title}: {metric}"
            labels = SERIES_LABELS.get(HISTOGRAM_SUFFIX.sub("", metric), ())
            labels = SERIES_LABELS.get(metric, labels)
            for label in ("service", "daemon"):
                if label in defined and label in labels:
                    assert f'{label}=~"${label}"' in matchers, f"{title}: {metric}"


@by_name
def test_dashboards_are_tagged_and_linked_by_tag(name: str) -> None:
    dashboard = DASHBOARDS[name]
    assert TAG in dashboard["tags"]
    links = [link for link in dashboard["links"] if link["type"] == "dashboards"]
    assert links
    assert all(TAG in link["tags"] for link in links)
    assert all(link["keepTime"] and link["includeVars"] for link in links)
    assert all("placement" not in link for link in dashboard["links"])


def test_data_links_open_existing_dashboards_with_the_time_range_and_datasource() -> None:
    uids = {dashboard["uid"] for dashboard in DASHBOARDS.values()}
    seen = set()
    for dashboard in DASHBOARDS.values():
        for panel in query_panels(dashboard):
            for link in panel["fieldConfig"]["defaults"].get("links", []):
                match = re.fullmatch(r"/d/([\w-]+)\?(.*)", link["url"])
                assert match, link["url"]
                assert match.group(1) in uids
                assert "${__url_time_range}" in match.group(2)
                assert "${datasource:queryparam}" in match.group(2)
                seen.add((dashboard["uid"], match.group(1)))
    assert ("ghost-overview", "ghost-service") in seen
    assert ("ghost-overview", "ghost-patches") in seen


def test_panels_that_may_be_empty_exist() -> None:
    for built in build_all():
        titles = {panel["title"] for panel in panels(DASHBOARDS[built.uid + ".json"])}
        assert built.may_be_empty <= titles
    overview = next(built for built in build_all() if built.uid == "ghost-overview")
    assert overview.may_be_empty == {"Firing Ghost alert list", "Remediations"}


def test_overview_has_the_required_panels() -> None:
    types = {
        panel["title"]: panel["type"] for panel in query_panels(DASHBOARDS["ghost-overview.json"])
    }
    exprs = " ".join(target["expr"] for _, target in targets(DASHBOARDS["ghost-overview.json"]))
    assert types["Service up"] == types["Service health"] == "stat"
    assert types["Patch duration heatmap"] == "heatmap"
    assert types["Firing Ghost alert list"] == "table"
    for needle in (
        "ghost:probe_duration_seconds:p95_5m",
        "ghost_websocket_message_lag_seconds",
        "ghost:patch_success_ratio:rate5m",
        "ghost:patches:rate5m",
        "ghost_patch_duration_seconds_bucket",
        "ghost_patches_in_flight",
        'ALERTS{alertname=~"Ghost.*", alertstate="firing"}',
        'up{job=~"$job"}',
        "scrape_duration_seconds",
        "ghost_exporter_config_last_reload_successful",
        "histogram_quantile(0.99, sum by (instance, le) "
        "(rate(ghost_exporter_scheduler_lag_seconds_bucket",
        'sum by (service, result) (rate(ghost_remediations_total{service=~"$service"}',
    ):
        assert needle in exprs, needle
    lag = next(
        panel
        for panel in query_panels(DASHBOARDS["ghost-overview.json"])
        if panel["title"] == "WebSocket message lag"
    )
    assert lag["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] != "off"
    assert [step["value"] for step in lag["fieldConfig"]["defaults"]["thresholds"]["steps"]] == [
        None,
        5,
    ]


def test_service_and_patches_dashboards_have_the_required_queries() -> None:
    service = " ".join(target["expr"] for _, target in targets(DASHBOARDS["ghost-service.json"]))
    for needle in (
        "ghost:service_availability:ratio_1h",
        "ghost_service_up{",
        "ghost_probe_phase_seconds",
        "ghost_probe_http_status_code",
        "ghost_service_health",
        "rate(ghost_probe_failures_total",
        "ghost_tls_cert_expiry_timestamp_seconds",
    ):
        assert needle in service, needle
    patches = " ".join(target["expr"] for _, target in targets(DASHBOARDS["ghost-patches.json"]))
    for needle in (
        "ghost:patches:rate5m",
        "ghost:patch_success_ratio:rate5m",
        'ghost:patch_error_ratio:rate1h{daemon=~"$daemon"} / (1 - 0.99)',
        "histogram_quantile(0.5, ",
        "histogram_quantile(0.95, ",
        "histogram_quantile(0.99, ",
        "ghost_patches_in_flight",
        "changes(ghost_daemon_start_time_seconds",
    ):
        assert needle in patches, needle
    assert any(
        panel["type"] == "heatmap" for panel in query_panels(DASHBOARDS["ghost-patches.json"])
    )


def _row_panels(dashboard: Dashboard, row: str) -> dict[str, dict[str, Any]]:
    """The panels between the row titled ``row`` and the next row, by title."""
    found: dict[str, dict[str, Any]] = {}
    inside = False
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            inside = panel["title"] == row
        elif inside:
            found[panel["title"]] = panel
    return found


def test_overview_has_a_monitor_sync_row() -> None:
    row = _row_panels(DASHBOARDS["ghost-overview.json"], "Monitor sync")
    assert {title: panel["type"] for title, panel in row.items()} == {
        "Monitor agreement": "state-timeline",
        "Claimed vs observed": "state-timeline",
        "Sync sources up": "stat",
        "Canaries in time": "stat",
        "Canary delivery time": "timeseries",
        "Canary outcomes": "timeseries",
    }
    agreement = row["Monitor agreement"]["targets"][0]["expr"]
    assert agreement == (
        'min by (reporter, service) (ghost_monitor_in_sync{job=~"$job", service=~"$service"})'
    )
    claimed, observed = (t["expr"] for t in row["Claimed vs observed"]["targets"])
    assert claimed.startswith("max by (reporter, service) (ghost_reported_health{")
    assert "ghost_service_up{" in observed
    assert "ghost_service_health{" in observed
    # Every state code of either query has a name in the panel's value mappings.
    mapped = {
        int(key)
        for mapping in row["Claimed vs observed"]["fieldConfig"]["defaults"]["mappings"]
        for key in mapping["options"]
    }
    assert mapped == {-1, 0, 1, 2, 3}

    delivery = row["Canary delivery time"]
    exprs = [target["expr"] for target in delivery["targets"]]
    assert exprs == [
        f"histogram_quantile({q}, sum by (pipeline, observer, le) "
        '(rate(ghost_pipeline_delivery_seconds_bucket{job=~"$job"}[$__rate_interval])))'
        for q in (0.5, 0.95)
    ]
    defaults = delivery["fieldConfig"]["defaults"]
    assert defaults["unit"] == "s"
    assert defaults["custom"]["thresholdsStyle"]["mode"] != "off"
    # The deadline, ghost's 5 s real-time promise, drawn as the red threshold line.
    assert [(s["value"], s["color"]) for s in defaults["thresholds"]["steps"]] == [
        (None, "green"),
        (5, "red"),
    ]
    assert "ghost:pipeline_delivered_ratio:rate5m" in row["Canaries in time"]["targets"][0]["expr"]
