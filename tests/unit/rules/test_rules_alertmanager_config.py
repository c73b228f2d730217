"""alerts/alertmanager.yml read as data: grouping, routes, receivers and inhibition rules."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .conftest import ALERTMANAGER_FILE, load_yaml

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
        for m in r["matchers"]
        if matcher(m)[:2] == ("severity", "=")
    }
    assert routes == {"critical": "ghost-critical", "warning": "ghost-warning"}
    assert all(not r.get("continue", False) for r in config["route"]["routes"])


def test_receivers_are_webhooks_to_the_status_api(config: dict[str, Any]) -> None:
    receivers = {r["name"]: r for r in config["receivers"]}
    assert set(receivers) == {"ghost-critical", "ghost-warning"}
    for name, receiver in receivers.items():
        assert receiver["webhook_configs"] == [
            {"url": WEBHOOK.format(receiver=name), "send_resolved": True}
        ]


def test_a_down_service_or_daemon_inhibits_its_warnings(
    config: dict[str, Any], alerts: list[dict[str, Any]]
) -> None:
    rules = config["inhibit_rules"]
    down = [r for r in rules if matcher(r["source_matchers"][0])[0] == "alertname"]
    assert len(down) == 1
    rule = down[0]
    _, op, value = matcher(rule["source_matchers"][0])
    assert op == "=~"
    assert set(value.split("|")) == {"GhostServiceDown", "GhostDaemonDown"}
    assert [matcher(m) for m in rule["target_matchers"]] == [("severity", "=", "warning")]
    assert rule["equal"] == ["service"]
    # The sources exist, and carry `service` (the daemon's name for GhostDaemonDown).
    by_name = {a["alert"]: a for a in alerts}
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
