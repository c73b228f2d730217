"""Every series a dashboard query names is published by the exporter or recorded by a rule."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, ProcessCollector

from ghost_dashboards import DEFAULT_VALUES, panel_queries, substitute
from ghost_dashboards import constants as dashboard_constants
from ghost_dashboards.promql import metric_names
from ghost_dashboards.queries import variable_queries
from ghost_exporter.metrics import sample_names
from ghost_remediate.metrics import sample_names as remediation_sample_names
from tests.support import require_tool

from . import rules
from .conftest import DASHBOARDS_DIR, ROOT
from .rules import FIXED_RULES, recorded_names, rule_files

#: Series Prometheus itself makes for every target and for alerting rules.
PROMETHEUS_SERIES = frozenset({"up", "scrape_duration_seconds", "ALERTS", "ALERTS_FOR_STATE"})


def process_series() -> frozenset[str]:
    """Samples of prometheus_client's ProcessCollector, which the exporter registers."""
    collector = ProcessCollector(registry=CollectorRegistry())
    return frozenset(sample.name for family in collector.collect() for sample in family.samples)


def allowed_series() -> frozenset[str]:
    """The exporter's and ghost-remediate's samples, Prometheus's own, recording rules."""
    return (
        sample_names()
        | remediation_sample_names()
        | PROMETHEUS_SERIES
        | process_series()
        | recorded_names()
    )


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("up", {"up"}),
        ('up{job=~"$job"} == 0', {"up"}),
        (
            "histogram_quantile(0.99, sum by (instance, le) "
            '(rate(lag_seconds_bucket{job=~"$job"}[$__rate_interval])))',
            {"lag_seconds_bucket"},
        ),
        ("sum(rate(a_total[5m])) by (le) / on(x) group_left(y) b offset 5m", {"a_total", "b"}),
        ('count_values("value", c) or vector(0)', {"c"}),
        ("x and y unless z or SUM by (k) (w)", {"x", "y", "z", "w"}),
        ('ghost:patches:rate5m{daemon=~"a|b"} / (1 - 0.99)', {"ghost:patches:rate5m"}),
        ('(expiry{s="x{y}"} - time()) / 86400 > 1e-9', {"expiry"}),
        ("max_over_time(m[1h:5m]) > bool 2", {"m"}),
        ("topk(3, p) * ${objective} + [[other]]", {"p"}),
        ('label_replace(q, "dst", "$1", "src", "(.*)")', {"q"}),
    ],
)
def test_metric_names_finds_the_selected_series(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_process_series_include_what_the_overview_uses() -> None:
    assert {"process_cpu_seconds_total", "process_resident_memory_bytes"} <= process_series()


def test_every_query_names_only_published_or_recorded_series() -> None:
    allowed = allowed_series()
    queries = panel_queries(DASHBOARDS_DIR)
    assert queries
    for query in queries:
        names = metric_names(substitute(query.expr, DEFAULT_VALUES))
        assert names, f"{query.dashboard_uid} / {query.panel_title}: no series in {query.expr}"
        unknown = names - allowed
        assert not unknown, f"{query.dashboard_uid} / {query.panel_title}: {sorted(unknown)}"


def test_every_variable_query_names_a_published_series() -> None:
    found = variable_queries(DASHBOARDS_DIR)
    assert {query.name for query in found} == {"job", "service", "daemon"}
    for query in found:
        assert metric_names(query.selector) <= sample_names(), query.query


def test_recording_rules_used_are_the_fixed_names() -> None:
    used = set()
    for query in panel_queries(DASHBOARDS_DIR):
        used |= {name for name in metric_names(query.expr) if ":" in name}
    assert used <= set(FIXED_RULES)
    assert used >= {
        "ghost:patch_success_ratio:rate5m",
        "ghost:probe_duration_seconds:p95_5m",
        "ghost:service_availability:ratio_1h",
        "ghost:patches:rate5m",
        "ghost:patch_error_ratio:rate1h",
        "ghost:service_error_ratio:rate1h",
    }


def test_rule_files_record_the_fixed_names() -> None:
    assert set(FIXED_RULES) <= recorded_names()


def test_missing_rule_files_fail_instead_of_passing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rules, "RULES_DIR", tmp_path)
    with pytest.raises(AssertionError, match="no rule files"):
        rule_files()
    with pytest.raises(AssertionError, match="no rule files"):
        test_rule_files_record_the_fixed_names()


def test_objectives_match_the_alert_configuration() -> None:
    """The dashboards' objective lines and burn-rate factors are the alerts' defaults."""
    config_file = ROOT / "alerts" / "config.yml"
    assert config_file.is_file(), f"{config_file} is missing"
    slo = yaml.safe_load(config_file.read_text(encoding="utf-8"))["profiles"]["default"]["slo"]
    assert slo["service_availability"] == dashboard_constants.AVAILABILITY_OBJECTIVE
    assert slo["patch_success"] == dashboard_constants.PATCH_SUCCESS_OBJECTIVE
    assert slo["pipeline_delivery"] == dashboard_constants.PIPELINE_DELIVERY_OBJECTIVE
    factors = sorted(
        float(window["factor"]) for tier in slo["burn_rates"].values() for window in tier["windows"]
    )
    assert tuple(factors) == dashboard_constants.BURN_RATE_FACTORS


def test_a_missing_alert_configuration_fails_instead_of_passing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    with pytest.raises(AssertionError, match="is missing"):
        test_objectives_match_the_alert_configuration()


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses each query, variables substituted, as the expression of a rule."""
    promtool = require_tool("promtool")
    rules = [
        {"record": f"ghost_dashboard_query_{index}", "expr": substitute(q.expr, DEFAULT_VALUES)}
        for index, q in enumerate(panel_queries(DASHBOARDS_DIR))
    ]
    rules_file = tmp_path / "queries.yml"
    rules_file.write_text(
        yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}), encoding="utf-8"
    )
    result = subprocess.run(
        [promtool, "check", "rules", str(rules_file)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout
