"""`make mixin`: the rules and dashboards as a mixin's outputs, and the mixin style rules.

mixin_out/ is a build output (ignored by git): the tests build it into temporary folders, with
the committed config and with a job selector and a cluster label.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ghost_rules import mixin

from .conftest import ALERTS_DIR, ALERTS_FILE, RECORDING_FILE, ROOT, SLOTH_FILE, load_yaml

MIXIN = ALERTS_DIR / "mixin.py"
DASHBOARDS_DIR = ROOT / "grafana" / "dashboards"
SEVERITIES = {"critical", "warning", "info"}
PREFIX = "Ghost"
MAX_RULES_PER_GROUP = 20
MAX_NAME = 40


def build_mixin(out: Path, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, str(MIXIN), "--out", str(out), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def default_mixin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mixin")
    build_mixin(out)
    return out


@pytest.fixture(scope="module")
def cluster_mixin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mixin-cluster")
    config = load_yaml(ALERTS_DIR / "config.yml")
    config["selectors"] = {"exporter": 'job=~"ghost.*"', "remediate": ""}
    config["cluster_label"] = "cluster"
    path = out / "config.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    build_mixin(out / "out", "--config", str(path))
    return out / "out"


def style_problems(alerts: dict[str, Any], rules: dict[str, Any]) -> list[str]:
    """What `mixtool lint` and the monitoring-mixins style guide reject, rule by rule."""
    problems = []
    for document, kind in ((alerts, "alert"), (rules, "record")):
        for group in document["groups"]:
            name = group["name"]
            if len(group["rules"]) > MAX_RULES_PER_GROUP:
                problems.append(f"group {name}: {len(group['rules'])} rules, more than 20")
            if len(name) > MAX_NAME:
                problems.append(f"group {name}: name longer than {MAX_NAME} characters")
            for rule in group["rules"]:
                if kind not in rule:
                    problems.append(f"group {name}: a rule without {kind!r} in the {kind} file")
                    continue
                if kind == "record":
                    if len(rule["record"]) > MAX_NAME:
                        problems.append(f"{rule['record']}: name longer than {MAX_NAME}")
                    continue
                problems.extend(_alert_problems(rule))
    return problems


def _alert_problems(rule: dict[str, Any]) -> list[str]:
    name = rule["alert"]
    problems = []
    if re.fullmatch(r"(?:[A-Z][a-z0-9]*)+", name) is None:
        problems.append(f"{name}: not CamelCase")
    if not name.startswith(PREFIX):
        problems.append(f"{name}: no {PREFIX} prefix")
    if len(name) > MAX_NAME:
        problems.append(f"{name}: name longer than {MAX_NAME} characters")
    severity = rule.get("labels", {}).get("severity")
    if severity not in SEVERITIES:
        problems.append(f"{name}: severity {severity!r} is not critical, warning or info")
    annotations = rule.get("annotations", {})
    summary = annotations.get("summary", "")
    if not summary:
        problems.append(f"{name}: no summary")
    elif "{{" in summary or not summary.endswith("."):
        problems.append(f"{name}: summary {summary!r} is templated or does not end with a period")
    if "{{" not in annotations.get("description", ""):
        problems.append(f"{name}: description without a template")
    return problems


def _outputs(out: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    alerts = load_yaml(out / "prometheus_alerts.yaml")
    rules = load_yaml(out / "prometheus_rules.yaml")
    dashboards = {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((out / "dashboards_out").glob("*.json"))
    }
    return alerts, rules, dashboards


def test_make_mixin_writes_the_three_outputs(default_mixin: Path) -> None:
    found = sorted(str(p.relative_to(default_mixin)) for p in default_mixin.rglob("*.*"))
    dashboards = sorted(f"dashboards_out/{p.name}" for p in DASHBOARDS_DIR.glob("*.json"))
    assert found == sorted(["prometheus_alerts.yaml", "prometheus_rules.yaml", *dashboards])


def test_mixin_outputs_are_the_committed_rules_and_dashboards(default_mixin: Path) -> None:
    alerts, rules, _ = _outputs(default_mixin)
    assert alerts["groups"] == load_yaml(ALERTS_FILE)["groups"]
    recording = [*load_yaml(RECORDING_FILE)["groups"], *load_yaml(SLOTH_FILE)["groups"]]
    assert rules["groups"] == recording
    for path in DASHBOARDS_DIR.glob("*.json"):
        built = default_mixin / "dashboards_out" / path.name
        assert built.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), path.name


def test_in_process_outputs_match_the_cli(default_mixin: Path) -> None:
    for name, text in mixin.outputs().items():
        assert (default_mixin / name).read_text(encoding="utf-8") == text, name


@pytest.mark.parametrize("build", ["default_mixin", "cluster_mixin"])
def test_mixin_style_rules_hold(build: str, request: pytest.FixtureRequest) -> None:
    out: Path = request.getfixturevalue(build)
    alerts, rules, _ = _outputs(out)
    assert sum(len(g["rules"]) for g in alerts["groups"]) >= 19
    assert sum(len(g["rules"]) for g in rules["groups"]) >= 20
    assert style_problems(alerts, rules) == []


def test_style_check_finds_each_kind_of_problem() -> None:
    good = {
        "alert": "GhostThingDown",
        "labels": {"severity": "warning"},
        "annotations": {"summary": "A thing is down.", "description": "{{ $labels.x }} is down."},
    }
    bad = [
        {**good, "alert": "ghost_thing_down"},
        {**good, "alert": "ThingDown"},
        {**good, "alert": "Ghost" + "Very" * 10},
        {**good, "labels": {"severity": "page"}},
        {**good, "annotations": {**good["annotations"], "summary": "{{ $labels.x }} is down."}},
        {**good, "annotations": {**good["annotations"], "summary": "A thing is down"}},
        {**good, "annotations": {"summary": "A thing is down.", "description": "It is down."}},
    ]
    alerts = {"groups": [{"name": "g", "rules": [good, *bad]}]}
    rules = {"groups": [{"name": "r", "rules": [{"record": "a:b:c", "expr": "1"}] * 21}]}
    problems = style_problems(alerts, rules)
    assert problems == [
        "ghost_thing_down: not CamelCase",
        "ghost_thing_down: no Ghost prefix",
        "ThingDown: no Ghost prefix",
        f"Ghost{'Very' * 10}: name longer than 40 characters",
        "GhostThingDown: severity 'page' is not critical, warning or info",
        "GhostThingDown: summary '{{ $labels.x }} is down.' is templated or does not end with "
        "a period",
        "GhostThingDown: summary 'A thing is down' is templated or does not end with a period",
        "GhostThingDown: description without a template",
        "group r: 21 rules, more than 20",
    ]


def test_cluster_label_reaches_the_dashboards_and_rules(cluster_mixin: Path) -> None:
    alerts, rules, dashboards = _outputs(cluster_mixin)
    assert dashboards.keys() == {p.name for p in DASHBOARDS_DIR.glob("*.json")}
    for name, dashboard in dashboards.items():
        variables = [v["name"] for v in dashboard["templating"]["list"]]
        assert variables[:3] == ["datasource", "cluster", "job"], name
        cluster = dashboard["templating"]["list"][1]
        assert cluster["query"] == (
            'label_values({__name__=~"ghost_exporter_build_info|ghost_service_up|'
            'ghost_daemon_up", job=~"ghost.*"}, cluster)'
        )
        assert not cluster["multi"], name
        targets = [
            target["expr"]
            for panel in dashboard["panels"]
            for inner in [panel, *panel.get("panels", [])]
            for target in inner.get("targets", [])
        ]
        assert targets, name
        for expr in targets:
            for selector in re.findall(r"\b[a-zA-Z_:]+\{[^}]*\}", expr):
                assert 'cluster="$cluster"' in selector, f"{name}: {selector} in {expr}"
    for group in alerts["groups"] + rules["groups"]:
        for rule in group["rules"]:
            for clause in re.findall(r"\b(?:by|on) \(([^)]*)\)", rule["expr"]):
                assert clause.startswith("cluster"), (rule, clause)
    assert 'ghost_daemon_up{job=~"ghost.*"} == 0' in [
        r["expr"] for g in alerts["groups"] for r in g["rules"]
    ]


def test_committed_dashboards_have_no_cluster_variable() -> None:
    for path in DASHBOARDS_DIR.glob("*.json"):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        assert "cluster" not in [v["name"] for v in dashboard["templating"]["list"]]
        assert "$cluster" not in path.read_text(encoding="utf-8")


def test_mixin_out_is_ignored_by_git() -> None:
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/mixin_out/" in lines


def test_the_makefile_has_a_mixin_target() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^mixin: venv ## .+\n\t\$\(BIN\)/python alerts/mixin.py", makefile, re.M)
