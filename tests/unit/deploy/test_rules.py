"""The PrometheusRule holds exactly the groups of prometheus/rules/*.yml and
alerts/ghost-alerts.yml; extracted, they pass `promtool check rules` and every promtool unit
test of alerts/tests/."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from ghost_deploy import sources
from tests.support import require_tool

from .conftest import KUBE_DIR, objects_of

TESTS_DIR = sources.ROOT / "alerts" / "tests"


def _committed_groups() -> list[dict[str, Any]]:
    (rule,) = objects_of(KUBE_DIR / "base" / "prometheusrule.yaml")
    assert rule["kind"] == "PrometheusRule"
    groups: list[dict[str, Any]] = rule["spec"]["groups"]
    return groups


def _source_groups() -> list[dict[str, Any]]:
    groups = []
    for path in [
        *sorted((sources.ROOT / "prometheus" / "rules").glob("*.yml")),
        sources.ALERTS_FILE,
    ]:
        groups += yaml.safe_load(path.read_text("utf-8"))["groups"]
    return groups


def _extract(tmp_path: Path) -> Path:
    path = tmp_path / "extracted-rules.yml"
    path.write_text(yaml.safe_dump({"groups": _committed_groups()}, sort_keys=False), "utf-8")
    return path


def test_the_rule_holds_exactly_the_groups_of_the_rule_files() -> None:
    committed, source = _committed_groups(), _source_groups()
    assert [g["name"] for g in committed] == [g["name"] for g in source]
    assert committed == source
    assert len(committed) > 5


def test_the_rule_holds_every_alert_and_record() -> None:
    def names(groups: list[dict[str, Any]]) -> list[str]:
        return [r.get("alert") or r["record"] for g in groups for r in g["rules"]]

    assert names(_committed_groups()) == names(_source_groups())
    assert "GhostServiceDown" in names(_committed_groups())


def test_extracted_groups_pass_promtool_check_rules(tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    result = subprocess.run(
        [promtool, "check", "rules", str(_extract(tmp_path))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_unit_tests_pass_on_the_extracted_groups(tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    extracted = _extract(tmp_path)
    tests = []
    for source in sorted(TESTS_DIR.glob("*.test.yml")):
        document = yaml.safe_load(source.read_text("utf-8"))
        document["rule_files"] = [str(extracted)]
        test = tmp_path / source.name
        test.write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
        tests.append(str(test))
    assert len(tests) >= 8
    result = subprocess.run(
        [promtool, "test", "rules", *tests],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert result.stdout.count("SUCCESS") == len(tests)


def test_a_changed_rule_fails_the_promtool_tests(tmp_path: Path) -> None:
    """The unit tests do run against the extracted file: a GhostServiceDown that waits longer
    breaks them."""
    promtool = require_tool("promtool")
    groups = _committed_groups()
    for group in groups:
        for rule in group["rules"]:
            if rule.get("alert") == "GhostServiceDown":
                rule["for"] = "59m"
    extracted = tmp_path / "extracted-rules.yml"
    extracted.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), "utf-8")
    document = yaml.safe_load((TESTS_DIR / "services.test.yml").read_text("utf-8"))
    document["rule_files"] = [str(extracted)]
    test = tmp_path / "services.test.yml"
    test.write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
    result = subprocess.run(
        [promtool, "test", "rules", str(test)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
