"""alerts/alertmanager.yml read as data: grouping, routes, receivers and inhibition rules."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ghost_remediate.config import load_config as load_remediate_config

from .conftest import ALERTMANAGER_FILE, ROOT, load_yaml

EXAMPLE_REMEDIATE = ROOT / "examples" / "remediate.yml"

WEBHOOK = "http://127.0.0.1:8789/api/alerts/{receiver}"


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(ALERTMANAGER_FILE)
    return data


def matcher(text: str) -> tuple[str, str, str]:
    """'name=~"value"' -> (name, op, value)."""
    match = re.fullmatch(r'\s*(\w+)\s*(=~|!~|!=|=)\s*"(.*)"\s*', text)
    assert match, f"unexpected matcher {text!r}"
    name, op, value = match.groups()
    return name, op, value


def test_alerts_are_grouped_by_alert_and_service(config: dict[str, Any]) -> None:
    route = config["route"]
    assert route["group_by"] == ["alertname", "service"]
    for key in ("group_wait", "group_interval", "repeat_interval"):
        assert key in route, key
    assert route["receiver"] == "ghost-warning"


def test_critical_and_warning_go_to_their_own_receivers(config: dict[str, Any]) -> None:
    routes = {
        matcher(m)[2]: r["receiver"]
        for r in config["route"]["routes"]
        for m in r.get("matchers", [])
        if matcher(m)[:2] == ("severity", "=")
    }
    assert routes == {"critical": "ghost-critical", "warning": "ghost-warning"}
    # Only the ghost-remediate route, first, lets its alerts go on to the routes of severity.
    first, *others = config["route"]["routes"]
    assert first["receiver"] == "ghost-remediate"
    assert first["continue"] is True
    assert all(not r.get("continue", False) for r in others)
    # The last route takes what the others left, as the root receiver did before the
    # ghost-remediate route matched it.
    assert others[-1] == {"receiver": config["route"]["receiver"]}


def test_receivers_are_webhooks_to_the_status_api(config: dict[str, Any]) -> None:
    receivers = {r["name"]: r for r in config["receivers"]}
    assert set(receivers) == {"ghost-critical", "ghost-warning", "ghost-remediate"}
    for name in ("ghost-critical", "ghost-warning"):
        assert receivers[name]["webhook_configs"] == [
            {"url": WEBHOOK.format(receiver=name), "send_resolved": True}
        ]


def test_ghost_remediate_receives_with_the_token_of_the_example_config(
    config: dict[str, Any],
) -> None:
    [receiver] = [r for r in config["receivers"] if r["name"] == "ghost-remediate"]
    [webhook] = receiver["webhook_configs"]
    assert webhook["url"] == "http://127.0.0.1:9799/webhook"
    assert webhook["send_resolved"] is True
    authorization = webhook["http_config"]["authorization"]
    assert authorization["type"] == "Bearer"
    # Alertmanager reads the file relative to its config file, as ghost-remediate's !file does.
    token_file = (ALERTMANAGER_FILE.parent / authorization["credentials_file"]).resolve()
    assert token_file == EXAMPLE_REMEDIATE.parent / "remediate.token"
    example = load_remediate_config(EXAMPLE_REMEDIATE)
    assert example.bearer_token == token_file.read_text(encoding="utf-8").strip()


def test_the_remediate_route_sends_the_alerts_the_example_rules_act_on(
    config: dict[str, Any], alerts: list[dict[str, Any]]
) -> None:
    [route] = [r for r in config["route"]["routes"] if r["receiver"] == "ghost-remediate"]
    [(label, op, value)] = [matcher(m) for m in route["matchers"]]
    assert (label, op) == ("alertname", "=~")
    routed = set(value.split("|"))
    example = load_remediate_config(EXAMPLE_REMEDIATE)
    acted_on = {
        rule["alert"]
        for rule in alerts
        for remediation in example.rules
        if next(m for m in remediation.matchers if m.label == "alertname").matches(
            {"alertname": rule["alert"]}
        )
    }
    assert routed == acted_on == {"GhostServiceDown", "GhostServiceUnhealthy"}


def test_a_down_service_or_daemon_inhibits_its_warnings(
    config: dict[str, Any], alerts: list[dict[str, Any]]
) -> None:
    rules = config["inhibit_rules"]
    down = [r for r in rules if "GhostServiceDown" in matcher(r["source_matchers"][0])[2]]
    assert len(down) == 1
    rule = down[0]
    _, op, value = matcher(rule["source_matchers"][0])
    assert op == "=~"
    assert set(value.split("|")) == {"GhostServiceDown", "GhostDaemonDown"}
    # Every warning but GhostRemediationFailing: a failed restart matters while it is down.
    assert [matcher(m) for m in rule["target_matchers"]] == [
        ("severity", "=", "warning"),
        ("alertname", "!=", "GhostRemediationFailing"),
    ]
    assert rule["equal"] == ["service"]
    # The sources exist, and carry `service` (the daemon's name for GhostDaemonDown).
    by_name = {a["alert"]: a for a in alerts}
    assert by_name["GhostRemediationFailing"]["labels"]["severity"] == "warning"
    assert "service" not in by_name["GhostServiceDown"]["labels"]  # kept from ghost_service_up
    assert by_name["GhostDaemonDown"]["labels"]["service"] == "{{ $labels.daemon }}"


def test_a_critical_tier_inhibits_the_warning_tier_of_the_same_alert(
    config: dict[str, Any],
) -> None:
    tiers = [
        r
        for r in config["inhibit_rules"]
        if [matcher(m) for m in r["source_matchers"]] == [("severity", "=", "critical")]
    ]
    assert len(tiers) == 1
    assert [matcher(m) for m in tiers[0]["target_matchers"]] == [("severity", "=", "warning")]
    assert tiers[0]["equal"] == ["alertname", "service"]


def test_a_lost_canary_holds_back_the_burn_alert_of_its_pipeline(
    config: dict[str, Any], alerts: list[dict[str, Any]]
) -> None:
    rules = [
        r
        for r in config["inhibit_rules"]
        if [matcher(m) for m in r["source_matchers"]]
        == [("alertname", "=", "GhostPipelineCanaryLost")]
    ]
    assert len(rules) == 1
    assert [matcher(m) for m in rules[0]["target_matchers"]] == [
        ("alertname", "=", "GhostPipelineErrorBudgetBurn")
    ]
    assert rules[0]["equal"] == ["service"]
    # Both carry the pipeline's name as their service, so `equal` pairs them by pipeline.
    by_name = {a["alert"]: a for a in alerts}
    for name in ("GhostPipelineCanaryLost", "GhostPipelineErrorBudgetBurn"):
        assert by_name[name]["labels"]["service"] == "{{ $labels.pipeline }}", name
