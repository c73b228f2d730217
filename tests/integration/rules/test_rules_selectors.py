"""Rules built with a job selector and a cluster label, run through promtool.

alerts/config.yml's `selectors` and `cluster_label` are off by default (the committed files are
built without them); here they are set, the rules built into a temporary folder, checked with
`promtool check rules`, and unit-tested: series of other jobs are left out, clusters are never
added together, and an annotation's query reads the alert's own cluster.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import ALERTS_DIR, expect_success, generate_rules

SELECTOR = 'job=~"ghost.*"'
REMEDIATE_SELECTOR = 'job="ghost-remediate"'
RUNBOOK = "https://github.com/ghost-exporter/ghost-exporter/blob/main/alerts/runbooks.md"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default profile's rule files with a job selector and the cluster label `cluster`."""
    out = tmp_path_factory.mktemp("selectors")
    config = yaml.safe_load((ALERTS_DIR / "config.yml").read_text(encoding="utf-8"))
    config["selectors"] = {"exporter": SELECTOR, "remediate": REMEDIATE_SELECTOR}
    config["cluster_label"] = "cluster"
    (out / "config.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    generate_rules(out, "--config", str(out / "config.yml"))
    return out


def _rules(path: Path) -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        rule.get("alert") or rule["record"]: rule
        for group in document["groups"]
        for rule in group["rules"]
    }


def test_rules_with_selectors_pass_promtool_check(built: Path) -> None:
    files = [built / "ghost-recording.yml", built / "ghost-alerts.yml"]
    result = expect_success("promtool", "check", "rules", *map(str, files))
    assert result.stdout.count("SUCCESS") == len(files), result.report()


def _series(metric: str, value: str, **labels: str) -> dict[str, str]:
    matchers = ",".join(f'{key}="{val}"' for key, val in labels.items())
    return {"series": f"{metric}{{{matchers}}}", "values": value}


def test_other_jobs_are_left_out_and_clusters_kept_apart(built: Path) -> None:
    alerts = _rules(built / "ghost-alerts.yml")
    a = {"cluster": "a", "job": "ghost", "instance": "127.0.0.1:9798"}
    b = {"cluster": "b", "job": "ghost", "instance": "127.0.0.1:9798"}
    other = {"cluster": "a", "job": "other", "instance": "10.0.0.1:9798"}
    series = [
        # GhostDaemonDown: down in cluster a (job ghost) and in a job the selector leaves out.
        _series("ghost_daemon_up", "0x10", **a, daemon="stress"),
        _series("ghost_daemon_up", "1x10", **b, daemon="stress"),
        _series("ghost_daemon_up", "0x10", **other, daemon="stress"),
        # The same daemon name in two clusters: one patch rate each, never summed.
        _series("ghost_patches_total", "0+60x10", **a, daemon="stress", outcome="completed"),
        _series("ghost_patches_total", "0+120x10", **b, daemon="stress", outcome="completed"),
        _series("ghost_patches_total", "0+600x10", **other, daemon="stress", outcome="completed"),
        # Monitor sync: in cluster a status-api claims dual-monitor healthy while it is up and
        # degraded; in cluster b the same service is down. The description of cluster a's alert
        # must read cluster a's state.
        _series(
            "ghost_monitor_in_sync", "0x10", **a, reporter="status-api", service="dual-monitor"
        ),
        _series(
            "ghost_reported_health",
            "1x10",
            **a,
            reporter="status-api",
            service="dual-monitor",
            state="healthy",
        ),
        _series("ghost_service_up", "1x10", **a, service="dual-monitor"),
        _series("ghost_service_health", "1x10", **a, service="dual-monitor", state="degraded"),
        _series("ghost_service_health", "0x10", **a, service="dual-monitor", state="healthy"),
        _series("ghost_service_up", "0x10", **b, service="dual-monitor"),
        # ghost-remediate: its own job only.
        _series(
            "ghost_remediations_total",
            "0+1x10",
            cluster="a",
            job="ghost-remediate",
            instance="127.0.0.1:9799",
            service="dual-monitor",
            action="restart",
            result="failed",
        ),
        _series(
            "ghost_remediations_total",
            "0+1x10",
            cluster="b",
            job="other",
            instance="127.0.0.1:9799",
            service="dual-monitor",
            action="restart",
            result="failed",
        ),
    ]

    def annotations(name: str, description: str) -> dict[str, str]:
        return {
            "summary": alerts[name]["annotations"]["summary"],
            "description": description,
            "runbook_url": f"{RUNBOOK}#{name.lower()}",
        }

    daemon_down = alerts["GhostDaemonDown"]
    sync = alerts["GhostMonitorOutOfSync"]
    remediation = alerts["GhostRemediationFailing"]
    test = {
        "rule_files": [str(built / "ghost-recording.yml"), str(built / "ghost-alerts.yml")],
        "evaluation_interval": "1m",
        "group_eval_order": [
            group["name"]
            for name in ("ghost-recording.yml", "ghost-alerts.yml")
            for group in yaml.safe_load((built / name).read_text(encoding="utf-8"))["groups"]
        ],
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "promql_expr_test": [
                    {
                        "expr": "ghost:patches:rate5m",
                        "eval_time": "5m",
                        "exp_samples": [
                            {
                                "labels": 'ghost:patches:rate5m{cluster="a",daemon="stress",'
                                'outcome="completed"}',
                                "value": 1,
                            },
                            {
                                "labels": 'ghost:patches:rate5m{cluster="b",daemon="stress",'
                                'outcome="completed"}',
                                "value": 2,
                            },
                        ],
                    }
                ],
                "alert_rule_test": [
                    {
                        "alertname": "GhostDaemonDown",
                        "eval_time": "3m",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    **a,
                                    "severity": "critical",
                                    "team": "ghost",
                                    "service": "stress",
                                    "daemon": "stress",
                                },
                                "exp_annotations": annotations(
                                    "GhostDaemonDown",
                                    daemon_down["annotations"]["description"]
                                    .replace("{{ $labels.daemon }}", "stress")
                                    .replace("{{ $labels.instance }}", a["instance"]),
                                ),
                            }
                        ],
                    },
                    {
                        "alertname": "GhostMonitorOutOfSync",
                        "eval_time": "3m",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    **a,
                                    "severity": "critical",
                                    "team": "ghost",
                                    "reporter": "status-api",
                                    "service": "dual-monitor",
                                },
                                "exp_annotations": annotations(
                                    "GhostMonitorOutOfSync",
                                    "status-api claims dual-monitor is healthy, but "
                                    "127.0.0.1:9798 observes it degraded; they have disagreed "
                                    f"for more than {sync['for']}. Whoever trusts status-api "
                                    "sees a stale picture.",
                                ),
                            }
                        ],
                    },
                    {
                        "alertname": "GhostRemediationFailing",
                        "eval_time": "5m",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "cluster": "a",
                                    "severity": "warning",
                                    "team": "ghost",
                                    "service": "dual-monitor",
                                    "action": "restart",
                                },
                                "exp_annotations": annotations(
                                    "GhostRemediationFailing",
                                    remediation["annotations"]["description"]
                                    .replace("{{ $labels.service }}", "dual-monitor")
                                    .replace("{{ $labels.action }}", "restart")
                                    .replace("{{ $value | humanize }}", "5"),
                                ),
                            }
                        ],
                    },
                ],
            }
        ],
    }
    test_file = built / "selectors.test.yml"
    test_file.write_text(yaml.safe_dump(test, sort_keys=False), encoding="utf-8")
    result = expect_success("promtool", "test", "rules", str(test_file))
    assert "SUCCESS" in result.stdout, result.report()


@pytest.mark.parametrize("with_settings", [False, True], ids=["defaults", "selector-and-cluster"])
def test_mixin_rule_files_pass_promtool_check(tmp_path: Path, with_settings: bool) -> None:
    """`make mixin`'s prometheus_alerts.yaml and prometheus_rules.yaml load in Prometheus."""
    config = yaml.safe_load((ALERTS_DIR / "config.yml").read_text(encoding="utf-8"))
    if with_settings:
        config["selectors"] = {"exporter": SELECTOR, "remediate": REMEDIATE_SELECTOR}
        config["cluster_label"] = "cluster"
    (tmp_path / "config.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            str(ALERTS_DIR / "mixin.py"),
            "--config",
            str(tmp_path / "config.yml"),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    files = [
        tmp_path / "out" / "prometheus_alerts.yaml",
        tmp_path / "out" / "prometheus_rules.yaml",
    ]
    result = expect_success("promtool", "check", "rules", *map(str, files))
    assert result.stdout.count("SUCCESS") == len(files), result.report()
