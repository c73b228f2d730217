"""Through a real Alertmanager: the global limit across services, and dry runs that act on
nothing (the service's restart endpoint records every request)."""

from __future__ import annotations

import time

import pytest

from .conftest import (
    UNHEALTHY,
    FakeService,
    Launcher,
    http_rule,
    push_alerts,
    receiver,
    remediate_yaml,
)


def any_service_rule(target: str) -> str:
    return (
        http_rule(target)
        .replace("    match: {service: dual-monitor}\n", "")
        .replace("restart-dual-monitor", "restart-any")
    )


def test_the_global_limit_holds_back_what_exceeds_it(
    launch: Launcher, fake: tuple[FakeService, str]
) -> None:
    service, target = fake
    names = ["svc-a", "svc-b", "svc-c"]
    for name in names:
        service.healthy[name] = False
    config = remediate_yaml(target, any_service_rule(target)).replace(
        "rules:\n", "max_actions_per_hour: 2\nrules:\n"
    )
    remediate = launch.remediate(config)
    alertmanager = launch.alertmanager(receiver(remediate.url))
    push_alerts(alertmanager, *({**UNHEALTHY, "service": name} for name in names))
    done = remediate.wait_for_audit("succeeded", count=2)
    [held] = remediate.wait_for_audit("skipped_global_limit")
    assert sorted(service.restarts) == sorted(line["service"] for line in done)
    assert held["service"] not in service.restarts
    assert len(service.restarts) == 2
    metrics = remediate.metrics()
    assert (
        f'ghost_remediations_total{{action="restart-any",result="skipped_global_limit",'
        f'service="{held["service"]}"}} 1.0'
    ) in metrics


@pytest.mark.parametrize("how", ["flag", "rule"])
def test_a_dry_run_through_alertmanager_requests_nothing(
    launch: Launcher, fake: tuple[FakeService, str], how: str
) -> None:
    service, target = fake
    rule = http_rule(target)
    if how == "rule":
        rule = rule.replace("    verify_timeout:", "    dry_run: true\n    verify_timeout:")
    remediate = launch.remediate(
        remediate_yaml(target, rule), extra=["--dry-run"] if how == "flag" else []
    )
    alertmanager = launch.alertmanager(receiver(remediate.url))
    push_alerts(alertmanager, UNHEALTHY)
    [line] = remediate.wait_for_audit("dry_run")
    assert line["ran"] == f"POST {target}/-/restart/dual-monitor"
    assert line["dry_run"] is True
    time.sleep(0.5)  # a request sent by mistake would reach the service by now
    assert service.restarts == []
    assert remediate.audit("started") == []
    assert remediate.count("dry_run") == 1
    assert remediate.count("succeeded") == remediate.count("failed") == 0
