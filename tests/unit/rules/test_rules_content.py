"""The generated rules checked against the project: metrics, runbooks, unit tests and docs."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from ghost_exporter.metrics import sample_names
from ghost_remediate.metrics import sample_names as remediation_sample_names

from .conftest import (
    ALERTS_FILE,
    DOCS_FILE,
    RECORDING_FILE,
    RUNBOOKS,
    github_anchors,
    load_yaml,
    promtool_test_files,
)

RUNBOOK_BASE = "https://github.com/ghost-exporter/ghost-exporter/blob/main/alerts/runbooks.md"
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")


def alert_cases() -> list[tuple[Path, dict[str, Any]]]:
    """Every alert_rule_test of alerts/tests/*.test.yml, with its file."""
    return [
        (path, case)
        for path in promtool_test_files()
        for group in load_yaml(path)["tests"]
        for case in group.get("alert_rule_test", [])
    ]


def expr_cases() -> list[dict[str, Any]]:
    return [
        case
        for path in promtool_test_files()
        for group in load_yaml(path)["tests"]
        for case in group.get("promql_expr_test", [])
    ]


def test_there_are_promtool_test_files() -> None:
    assert len(promtool_test_files()) >= 5


def test_every_alert_is_complete(alerts: list[dict[str, Any]]) -> None:
    anchors = github_anchors(RUNBOOKS.read_text(encoding="utf-8"))
    assert len(alerts) >= 19
    for rule in alerts:
        name = rule["alert"]
        assert re.fullmatch(r"Ghost[A-Z][A-Za-z]+", name), name
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        assert rule["labels"]["team"] == "ghost", name
        assert DURATION.match(rule["for"]), name
        annotations = rule["annotations"]
        assert annotations["summary"], name
        assert "{{" not in annotations["summary"], name
        # A summary is one sentence: a capital letter first, a period last.
        assert re.fullmatch(r"[A-Z][^\n]*\.", annotations["summary"]), name
        assert "{{ $labels." in annotations["description"], name
        base, _, anchor = annotations["runbook_url"].partition("#")
        assert base == RUNBOOK_BASE, name
        assert anchor == name.lower(), name
        assert anchor in anchors, f"{name}: no section #{anchor} in alerts/runbooks.md"


def test_runbooks_have_one_section_per_alert(alerts: list[dict[str, Any]]) -> None:
    headings = re.findall(r"^## (\S+)\s*$", RUNBOOKS.read_text(encoding="utf-8"), re.MULTILINE)
    assert len(headings) == len(set(headings))
    assert set(headings) == {rule["alert"] for rule in alerts}


def test_daemon_and_exporter_alerts_carry_a_service_label(alerts: list[dict[str, Any]]) -> None:
    for rule in alerts:
        if re.search(r"\bghost_(daemon_up|patch|patches)|ghost:patch", rule["expr"]):
            assert rule["labels"]["service"] == "{{ $labels.daemon }}", rule["alert"]
        elif re.search(r"\bup\{|ghost_exporter_", rule["expr"]):
            assert rule["labels"]["service"] == "ghost-exporter", rule["alert"]
        elif re.search(r"\bghost_reporter_up\b", rule["expr"]):
            assert rule["labels"]["service"] == "{{ $labels.reporter }}", rule["alert"]
        elif re.search(r"\bghost_pipeline_|ghost:pipeline", rule["expr"]):
            assert rule["labels"]["service"] == "{{ $labels.pipeline }}", rule["alert"]
        elif 'result="skipped_global_limit"' in rule["expr"]:  # about every service at once
            assert rule["labels"]["service"] == "ghost-remediate", rule["alert"]
        else:
            assert "service" not in rule["labels"], rule["alert"]  # kept from the expression


def test_every_fired_alert_in_the_unit_tests_has_a_service(alerts: list[dict[str, Any]]) -> None:
    # Alertmanager groups and inhibits by service, so every alert must carry one.
    fired = [alert for _, case in alert_cases() for alert in case["exp_alerts"]]
    assert fired
    for alert in fired:
        assert alert["exp_labels"].get("service"), alert


def test_expressions_use_only_published_metrics(
    alerts: list[dict[str, Any]], records: list[dict[str, Any]]
) -> None:
    # The exporter's metrics, and ghost-remediate's (exporter/ghost_remediate/metrics.py).
    published = sample_names() | remediation_sample_names()
    recorded = {rule["record"] for rule in records}
    for rule in alerts + records:
        name = rule.get("alert") or rule["record"]
        expr = re.sub(r'"[^"]*"', '""', rule["expr"])  # label values are no metric names
        # Queries in annotation templates (`printf "ghost_x{...}" ... | query`) count too.
        expr += " " + " ".join(re.findall(r'printf "([^"]*)"', str(rule.get("annotations"))))
        for metric in re.findall(r"\bghost_[a-z_]+", expr):
            assert metric in published, (
                f"{name}: {metric} is not in ghost_exporter.metrics or ghost_remediate.metrics"
            )
        for metric in re.findall(r"\bghost:[a-z_]+:[a-z0-9_]+", expr):
            assert metric in recorded, f"{name}: {metric} is not a recording rule"


def test_every_alert_has_firing_and_silent_unit_tests(alerts: list[dict[str, Any]]) -> None:
    silent: set[str] = set()
    fired: dict[str, set[str]] = defaultdict(set)
    for _, case in alert_cases():
        if not case["exp_alerts"]:
            silent.add(case["alertname"])
        for alert in case["exp_alerts"]:
            fired[case["alertname"]].add(alert["exp_labels"]["severity"])
    for rule in alerts:
        name, severity = rule["alert"], rule["labels"]["severity"]
        assert name in silent, f"{name}: no promtool test expecting no alert (exp_alerts: [])"
        assert severity in fired[name], f"{name}: no promtool test where the {severity} fires"


def test_every_recording_rule_has_a_promql_expr_test(records: list[dict[str, Any]]) -> None:
    tested = " ".join(case["expr"] for case in expr_cases())
    for rule in records:
        assert re.search(re.escape(rule["record"]) + r"\b", tested), (
            f"{rule['record']}: no promql_expr_test in alerts/tests/"
        )


@pytest.mark.parametrize("path", promtool_test_files(), ids=lambda p: p.name)
def test_unit_test_files_load_the_committed_rules_in_a_fixed_order(path: Path) -> None:
    test = load_yaml(path)
    assert [(path.parent / f).resolve() for f in test["rule_files"]] == [
        RECORDING_FILE,
        ALERTS_FILE,
    ]
    # Without a complete group_eval_order promtool evaluates groups in a random order, and an
    # alert would see a recording rule's value of the previous evaluation only some of the time.
    groups = [g["name"] for f in (RECORDING_FILE, ALERTS_FILE) for g in load_yaml(f)["groups"]]
    assert test["group_eval_order"] == groups


def test_docs_list_every_alert_with_its_severity_and_for(alerts: list[dict[str, Any]]) -> None:
    rows = set(
        re.findall(
            r"^\| `(Ghost\w+)` \| (critical|warning) \| (\w+) \|",
            DOCS_FILE.read_text(encoding="utf-8"),
            re.MULTILINE,
        )
    )
    assert rows == {(r["alert"], r["labels"]["severity"], r["for"]) for r in alerts}


def test_docs_list_every_recording_rule(records: list[dict[str, Any]]) -> None:
    text = DOCS_FILE.read_text(encoding="utf-8")
    for rule in records:
        assert f"`{rule['record']}`" in text, rule["record"]
