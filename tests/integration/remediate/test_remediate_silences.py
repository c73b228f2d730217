"""Through a real Alertmanager: a silence holds while a remediation runs and is expired when it
ends; a resolved alert cancels a running remediation."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.support import free_port, wait_until
from tests.unit.remediate.payloads import alert, notification

from .conftest import (
    UNHEALTHY,
    FakeService,
    Launcher,
    http_rule,
    push_alerts,
    receiver,
    remediate_yaml,
    silences_of,
)
from .test_remediate_process import alive, group_gone


def waiting_rule(tmp: Path, timeout: str = "30s") -> str:
    """A command that writes its pids, SIGTERM noted in ``term``, and runs until ``release``
    exists."""
    script = (
        f"trap 'echo term > {tmp}/term; exit 1' TERM; echo $$ > {tmp}/pid; "
        f"while [ ! -e {tmp}/release ]; do sleep 0.05; done"
    )
    return f"""\
  - name: restart-dual-monitor
    match: {{service: dual-monitor}}
    match_re: {{alertname: GhostServiceUnhealthy}}
    verify: false
    action:
      command:
        argv: [/bin/sh, -c, "{script}"]
        timeout: {timeout}
        kill_grace: 5s
"""


def alertmanager_section(url: str) -> str:
    return f"alertmanager:\n  url: {url}\n  timeout: 5s\n"


def _seconds(silence: dict[str, Any]) -> float:
    def parse(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    return (parse(silence["endsAt"]) - parse(silence["startsAt"])).total_seconds()


def test_a_silence_holds_while_the_action_runs_and_is_expired_when_it_succeeds(
    launch: Launcher, fake: tuple[FakeService, str], tmp_path: Path
) -> None:
    _, target = fake
    am_port = free_port()
    am_url = f"http://127.0.0.1:{am_port}"
    config = remediate_yaml(target, waiting_rule(tmp_path)).replace(
        "defaults:", alertmanager_section(am_url) + "defaults:"
    )
    remediate = launch.remediate(config)
    alertmanager = launch.alertmanager(receiver(remediate.url), port=am_port)
    push_alerts(alertmanager, UNHEALTHY)
    [started] = remediate.wait_for_audit("started")
    wait_until(lambda: (tmp_path / "pid").exists(), timeout=20)
    [silence] = silences_of(alertmanager)  # created before the action started
    assert silence["status"]["state"] == "active"
    assert sorted(
        (m["name"], m["value"], m["isRegex"], m.get("isEqual", True)) for m in silence["matchers"]
    ) == [
        ("alertname", "GhostServiceUnhealthy", False, True),
        ("service", "dual-monitor", False, True),
    ]
    assert silence["comment"] == (
        f"ghost-remediate runs restart-dual-monitor for dual-monitor "
        f"(audit id {started['audit_id']})"
    )
    # At most the action's timeout and kill grace (no verification here).
    assert 30 <= _seconds(silence) <= 35

    (tmp_path / "release").touch()
    [done] = remediate.wait_for_audit("succeeded")
    assert done["silence_id"] == silence["id"]
    assert done["audit_id"] == started["audit_id"]
    [after] = silences_of(alertmanager)
    assert after["id"] == silence["id"]
    assert after["status"]["state"] == "expired"
    assert 'ghost_remediation_silence_errors_total{operation="create"} 0.0' in remediate.metrics()


def test_a_failed_verification_expires_the_silence_at_once(
    launch: Launcher, fake: tuple[FakeService, str]
) -> None:
    service, target = fake
    service.restart_heals = False
    am_port = free_port()
    config = remediate_yaml(target, http_rule(target, verify_timeout="1s")).replace(
        "defaults:", alertmanager_section(f"http://127.0.0.1:{am_port}") + "defaults:"
    )
    remediate = launch.remediate(config)
    alertmanager = launch.alertmanager(receiver(remediate.url), port=am_port)
    push_alerts(alertmanager, UNHEALTHY)
    [failed] = remediate.wait_for_audit("failed")
    [silence] = silences_of(alertmanager)
    assert failed["silence_id"] == silence["id"]
    assert silence["status"]["state"] == "expired"
    assert remediate.count("failed") == 1


def test_an_unreachable_alertmanager_does_not_hold_the_remediation_back(
    launch: Launcher, fake: tuple[FakeService, str]
) -> None:
    service, target = fake
    config = remediate_yaml(target, http_rule(target)).replace(
        "defaults:", alertmanager_section(f"http://127.0.0.1:{free_port()}") + "defaults:"
    )
    remediate = launch.remediate(config)
    status, _ = remediate.post(notification(alert()))
    assert status == 200
    [done] = remediate.wait_for_audit("succeeded")
    assert done["silence_id"] == ""
    assert service.restarts == ["dual-monitor"]
    metrics = remediate.metrics()
    assert 'ghost_remediation_silence_errors_total{operation="create"} 1.0' in metrics
    assert 'ghost_remediation_silence_errors_total{operation="expire"} 0.0' in metrics
    assert any(line.get("msg") == "cannot create a silence" for line in remediate.lines())


def test_a_resolved_alert_cancels_the_running_action(
    launch: Launcher, fake: tuple[FakeService, str], tmp_path: Path
) -> None:
    _, target = fake
    remediate = launch.remediate(remediate_yaml(target, waiting_rule(tmp_path)))
    alertmanager = launch.alertmanager(receiver(remediate.url))
    push_alerts(alertmanager, UNHEALTHY)
    remediate.wait_for_audit("started")
    wait_until(lambda: (tmp_path / "pid").exists(), timeout=20)
    shell = int((tmp_path / "pid").read_text())
    assert alive(shell)

    push_alerts(alertmanager, UNHEALTHY, resolved=True)
    [cancelled] = remediate.wait_for_audit("cancelled")
    assert cancelled["detail"] == "cancelled: the alert resolved"
    [resolved] = remediate.wait_for_audit("resolved")
    assert resolved["detail"] == "cancelling the running remediation"
    assert (tmp_path / "term").read_text() == "term\n"  # SIGTERM first
    wait_until(lambda: group_gone(shell), timeout=10)
    assert remediate.count("cancelled") == 1
    assert remediate.count("failed") == remediate.count("succeeded") == 0
    assert remediate.proc.poll() is None


def test_while_silenced_a_resolved_alert_reaches_nothing(
    launch: Launcher, fake: tuple[FakeService, str], tmp_path: Path
) -> None:
    """Alertmanager mutes every notification of a silenced alert, the resolved one to
    ghost-remediate too: the remediation runs on to its end (docs/remediation.md says so)."""
    _, target = fake
    am_port = free_port()
    config = remediate_yaml(target, waiting_rule(tmp_path)).replace(
        "defaults:", alertmanager_section(f"http://127.0.0.1:{am_port}") + "defaults:"
    )
    remediate = launch.remediate(config)
    alertmanager = launch.alertmanager(receiver(remediate.url), port=am_port)
    push_alerts(alertmanager, UNHEALTHY)
    remediate.wait_for_audit("started")
    wait_until(lambda: (tmp_path / "pid").exists(), timeout=20)
    push_alerts(alertmanager, UNHEALTHY, resolved=True)
    time.sleep(3)  # three group intervals: a resolved notification would have come by now
    assert remediate.audit("resolved") == []
    assert remediate.audit("cancelled") == []
    assert not (tmp_path / "term").exists()
    (tmp_path / "release").touch()
    remediate.wait_for_audit("succeeded")
