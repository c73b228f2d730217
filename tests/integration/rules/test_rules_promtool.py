"""promtool on the rule files (both profiles), the alert unit tests and the Prometheus configs."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import ALERTS_DIR, PROMETHEUS_DIR, expect_success, generate_rules, run_tool

RULE_FILES = (PROMETHEUS_DIR / "rules" / "ghost-recording.yml", ALERTS_DIR / "ghost-alerts.yml")
UNIT_TESTS = sorted((ALERTS_DIR / "tests").glob("*.test.yml"))
CONFIGS = ("prometheus.yml", "prometheus-probe.yml", "prometheus-sharded.yml")


def test_committed_rule_files_pass_promtool_check() -> None:
    result = expect_success("promtool", "check", "rules", *map(str, RULE_FILES))
    assert result.stdout.count("SUCCESS") == len(RULE_FILES), result.report()


def test_fast_profile_rule_files_pass_promtool_check(tmp_path: Path) -> None:
    generate_rules(tmp_path, "--profile", "fast")
    files = [tmp_path / "ghost-recording.yml", tmp_path / "ghost-alerts.yml"]
    result = expect_success("promtool", "check", "rules", *map(str, files))
    assert result.stdout.count("SUCCESS") == len(files), result.report()


def test_alert_unit_tests_pass() -> None:
    assert UNIT_TESTS
    result = expect_success("promtool", "test", "rules", *map(str, UNIT_TESTS))
    assert result.stdout.count("SUCCESS") == len(UNIT_TESTS), result.report()


@pytest.mark.parametrize("config", CONFIGS)
def test_prometheus_config_passes_promtool_check(config: str) -> None:
    result = expect_success("promtool", "check", "config", str(PROMETHEUS_DIR / config))
    # check config also finds and parses every rule file the config lists.
    for rule_file in RULE_FILES:
        assert f"Checking {rule_file}\n  SUCCESS" in result.stdout, result.report()
    assert "WARNING" not in result.stdout + result.stderr, result.report()


def test_a_broken_rule_fails_the_check_with_promtools_message(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "groups:\n"
        "  - name: broken\n"
        "    rules:\n"
        "      - record: ghost:broken:rate5m\n"
        "        expr: sum by (service) (rate(ghost_probes_total[5m])\n",
        encoding="utf-8",
    )
    with pytest.raises(AssertionError) as excinfo:
        expect_success("promtool", "check", "rules", str(broken))
    message = str(excinfo.value)
    assert "exit status 1" in message
    assert f'{broken}: 5:15: group "broken", rule 1, "ghost:broken:rate5m"' in message
    assert "unclosed left parenthesis" in message


def _set_every_for(node: Any, delta_seconds: int) -> None:
    """Shift every ``for`` duration of a profile by ``delta_seconds``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "for":
                seconds = _seconds(value) + delta_seconds
                assert seconds > 0, value
                node[key] = f"{seconds}s"
            else:
                _set_every_for(value, delta_seconds)


def _seconds(duration: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return int(duration[:-1]) * units[duration[-1]]


@pytest.mark.parametrize(
    ("delta", "broken"),
    [(60, "the evaluation where it should fire"), (-60, "the evaluation just before `for`")],
    ids=["for-one-minute-longer", "for-one-minute-shorter"],
)
def test_unit_tests_pin_every_alerts_for_duration(tmp_path: Path, delta: int, broken: str) -> None:
    """With every `for` one evaluation longer (or shorter), every alert's unit tests must fail."""
    config = yaml.safe_load((ALERTS_DIR / "config.yml").read_text(encoding="utf-8"))
    _set_every_for(config["profiles"]["default"], delta)
    config["profiles"] = {"default": config["profiles"]["default"]}
    config_path = tmp_path / "config.yml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")

    # The unit tests name their rule files relative to themselves: rebuild that layout.
    generated = tmp_path / "generated"
    generate_rules(generated, "--config", str(config_path))
    (tmp_path / "prometheus" / "rules").mkdir(parents=True)
    shutil.copy(generated / "ghost-recording.yml", tmp_path / "prometheus" / "rules")
    shutil.copytree(ALERTS_DIR / "tests", tmp_path / "alerts" / "tests")
    shutil.copy(generated / "ghost-alerts.yml", tmp_path / "alerts")

    tests = sorted((tmp_path / "alerts" / "tests").glob("*.test.yml"))
    result = run_tool("promtool", "test", "rules", *map(str, tests))
    assert result.returncode == 1, result.report()
    alerts = yaml.safe_load((generated / "ghost-alerts.yml").read_text(encoding="utf-8"))
    names = {rule["alert"] for group in alerts["groups"] for rule in group["rules"]}
    for name in sorted(names):
        assert f"alertname: {name}," in result.stdout + result.stderr, (
            f"{name}: no unit test failed at {broken}\n{result.report()}"
        )


def _burn_description(rule: dict[str, Any], daemon: str, value: str) -> str:
    text = str(rule["annotations"]["description"])
    text = text.replace("{{ $labels.daemon }}", daemon)
    return text.replace("{{ $value | humanizePercentage }}", value)


def test_per_daemon_patch_objectives(tmp_path: Path) -> None:
    """A daemon with an objective of its own is judged by it, the others by the default.

    stress (default 99%) fails 20% of its patches: both burn alerts fire. chaos (objective 50%
    in patch_success_by_daemon) fails 20% too, inside its budget, and pages nothing; chaos-2
    (objective 50%) fails 60%: 1.2x its budget, the slow-burn warning only.
    """
    config = yaml.safe_load((ALERTS_DIR / "config.yml").read_text(encoding="utf-8"))
    slo = config["profiles"]["default"]["slo"]
    slo["patch_success_by_daemon"] = {"chaos": 0.5, "chaos-2": 0.5}
    (tmp_path / "config.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    generate_rules(tmp_path, "--config", str(tmp_path / "config.yml"))
    alerts = yaml.safe_load((tmp_path / "ghost-alerts.yml").read_text(encoding="utf-8"))
    [group] = [g for g in alerts["groups"] if g["name"] == "ghost.alerts.slo"]
    burns = [rule for rule in group["rules"] if rule["alert"] == "GhostPatchErrorBudgetBurn"]
    assert len(burns) == 6  # (default, chaos, chaos-2) x (critical, warning)
    assert 'ghost:patch_error_ratio:rate1h{daemon!~"chaos|chaos-2"}' in burns[0]["expr"]

    def rule(severity: str, daemon: str) -> dict[str, Any]:
        matcher = f'{{daemon="{daemon}"}}' if daemon.startswith("chaos") else "{daemon!~"
        return next(
            r for r in burns if r["labels"]["severity"] == severity and matcher in r["expr"]
        )

    series = []
    for daemon, failed in (("stress", 20), ("chaos", 20), ("chaos-2", 60)):
        for outcome, per_minute in (("completed", 100 - failed), ("failed", failed)):
            labels = f'job="ghost",instance="127.0.0.1:9798",daemon="{daemon}",outcome="{outcome}"'
            series.append(
                {"series": f"ghost_patches_total{{{labels}}}", "values": f"0+{per_minute}x1500"}
            )

    def expected(severity: str, daemon: str, value: str) -> dict[str, Any]:
        found = rule(severity, daemon)
        return {
            "exp_labels": {
                "severity": severity,
                "team": "ghost",
                "service": daemon,
                "daemon": daemon,
            },
            "exp_annotations": {
                "summary": found["annotations"]["summary"],
                "description": _burn_description(found, daemon, value),
                "runbook_url": found["annotations"]["runbook_url"],
            },
        }

    test = {
        "rule_files": [str(tmp_path / "ghost-recording.yml"), str(tmp_path / "ghost-alerts.yml")],
        "evaluation_interval": "1m",
        "group_eval_order": [
            "ghost.recording.services",
            "ghost.recording.patches",
            "ghost.recording.slo.services",
            "ghost.recording.slo.patches",
            "ghost.recording.slo.pipelines",
            "ghost.alerts.services",
            "ghost.alerts.websocket",
            "ghost.alerts.patches",
            "ghost.alerts.exporter",
            "ghost.alerts.tls",
            "ghost.alerts.slo",
            "ghost.alerts.remediation",
        ],
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {
                        "alertname": "GhostPatchErrorBudgetBurn",
                        "eval_time": "20m",
                        "exp_alerts": [
                            expected("critical", "stress", "20%"),
                            expected("warning", "stress", "20%"),
                            expected("warning", "chaos-2", "60%"),
                        ],
                    }
                ],
            }
        ],
    }
    test_file = tmp_path / "objectives.test.yml"
    test_file.write_text(yaml.safe_dump(test, sort_keys=False), encoding="utf-8")
    result = expect_success("promtool", "test", "rules", str(test_file))
    assert "SUCCESS" in result.stdout, result.report()
