"""panel_queries lists every target; substitute fills Grafana template variables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ghost_dashboards import DEFAULT_VALUES, PanelQuery, panel_queries, substitute
from ghost_dashboards.queries import MissingVariableError, variable_queries

from .conftest import DASHBOARDS_DIR, load_dashboards, query_panels

VALUES = {"job": "ghost", "service": "dual-monitor", "__rate_interval": "1m", "__range": "1h"}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('up{job=~"$job"}', 'up{job=~"ghost"}'),
        ('up{job=~"${job}"}', 'up{job=~"ghost"}'),
        ('up{job=~"${job:regex}"}', 'up{job=~"ghost"}'),
        ('up{job=~"[[job]]"}', 'up{job=~"ghost"}'),
        ("rate(x[$__rate_interval])", "rate(x[1m])"),
        ("changes(x[$__range])", "changes(x[1h])"),
        ('x{service=~"$service", job=~"$job"}', 'x{service=~"dual-monitor", job=~"ghost"}'),
        ('x{path=~"/api$"}', 'x{path=~"/api$"}'),
        ("no variables at all", "no variables at all"),
    ],
)
def test_substitute_replaces_every_form_of_variable(expr: str, expected: str) -> None:
    assert substitute(expr, VALUES) == expected


def test_substitute_takes_the_whole_variable_name() -> None:
    values = {"__range": "1h", "__range_s": "3600", "job": "a", "job_name": "b"}
    assert substitute("$__range_s $__range $job_name $job", values) == "3600 1h b a"


def test_substitute_names_every_missing_variable() -> None:
    with pytest.raises(MissingVariableError) as raised:
        substitute('x{a=~"$alpha", b=~"${beta}", c=~"$job"}[$__interval]', VALUES)
    assert raised.value.names == {"alpha", "beta", "__interval"}
    assert "alpha, beta" in str(raised.value)


def test_default_values_fill_every_dashboard_query() -> None:
    for query in panel_queries(DASHBOARDS_DIR):
        promql = substitute(query.expr, DEFAULT_VALUES)
        assert "$" not in promql, promql
    for variable in variable_queries(DASHBOARDS_DIR):
        assert "$" not in substitute(variable.query, DEFAULT_VALUES)


def test_default_values_match_the_environment_the_stack_runs_in() -> None:
    assert DEFAULT_VALUES["job"] == "ghost"
    assert DEFAULT_VALUES["datasource"] == "ghost-prometheus"
    assert DEFAULT_VALUES["__rate_interval"] == "1m"


def test_panel_queries_lists_every_target_of_every_panel() -> None:
    queries = panel_queries(DASHBOARDS_DIR)
    expected = [
        (dashboard["uid"], panel["title"], target["refId"], target["expr"])
        for dashboard in load_dashboards().values()
        for panel in query_panels(dashboard)
        for target in panel["targets"]
    ]
    assert [(q.dashboard_uid, q.panel_title, q.ref_id, q.expr) for q in queries] == expected
    assert {q.dashboard_uid for q in queries} == {
        "ghost-overview",
        "ghost-patches",
        "ghost-service",
    }


def test_panel_queries_marks_the_panels_that_may_be_empty() -> None:
    empty = {
        (q.dashboard_uid, q.panel_title) for q in panel_queries(DASHBOARDS_DIR) if q.may_be_empty
    }
    assert empty == {
        ("ghost-overview", "Firing Ghost alert list"),
        ("ghost-overview", "Remediations"),
        ("ghost-service", "HTTP status"),
        ("ghost-service", "Certificate expiry"),
        ("ghost-service", "HTTP status code"),
        ("ghost-service", "WebSocket message lag"),
        ("ghost-service", "Assertions"),
    }


def test_panel_queries_tells_instant_from_range_queries() -> None:
    by_title = {(q.dashboard_uid, q.panel_title): q for q in panel_queries(DASHBOARDS_DIR)}
    assert by_title["ghost-overview", "Service up"].instant
    assert not by_title["ghost-overview", "Probe latency p95"].instant


def test_panel_queries_reads_collapsed_rows_and_unknown_dashboards(tmp_path: Path) -> None:
    dashboard = {
        "uid": "other",
        "panels": [
            {
                "type": "row",
                "title": "Collapsed",
                "panels": [
                    {"type": "stat", "title": "Inner", "targets": [{"refId": "A", "expr": "up"}]}
                ],
            }
        ],
    }
    (tmp_path / "other.json").write_text(json.dumps(dashboard), encoding="utf-8")
    assert panel_queries(tmp_path) == [
        PanelQuery("other", "Inner", "A", "up", instant=False, may_be_empty=False)
    ]


def test_variable_queries_rejects_what_is_not_label_values(tmp_path: Path) -> None:
    dashboard = {
        "uid": "other",
        "templating": {"list": [{"type": "query", "name": "x", "query": "query_result(up)"}]},
    }
    (tmp_path / "other.json").write_text(json.dumps(dashboard), encoding="utf-8")
    with pytest.raises(ValueError, match="not label_values"):
        variable_queries(tmp_path)
