"""A real Alertmanager posts to a real ghost-remediate, which restarts the service and verifies
it; wrong or missing credentials run nothing."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import bcrypt
import pytest

from tests.support import wait_until
from tests.unit.remediate.payloads import alert, notification

from .conftest import TOKEN, FakeService, Launcher, http_rule, push_alerts, remediate_yaml

UNHEALTHY = {
    "alertname": "GhostServiceUnhealthy",
    "severity": "critical",
    "service": "dual-monitor",
}
PASSWORD = "integration password"


@pytest.mark.parametrize("scheme", ["bearer", "basic"])
def test_alertmanager_notification_restarts_the_service_once(
    launch: Launcher, fake: tuple[FakeService, str], tmp_path: Path, scheme: str
) -> None:
    service, target = fake
    secret = tmp_path / "secret"
    if scheme == "bearer":
        secret.write_text(TOKEN + "\n")
        auth = None
        http_config = {"authorization": {"type": "Bearer", "credentials_file": str(secret)}}
    else:
        secret.write_text(PASSWORD + "\n")
        hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
        auth = f"auth:\n  basic_auth_users:\n    alertmanager: '{hashed}'\n"
        http_config = {"basic_auth": {"username": "alertmanager", "password_file": str(secret)}}
    remediate = launch.remediate(remediate_yaml(target, http_rule(target), auth))
    alertmanager = launch.alertmanager(
        {"url": remediate.url + "/webhook", "send_resolved": True, "http_config": http_config}
    )
    push_alerts(alertmanager, UNHEALTHY)

    [done] = remediate.wait_for_audit("succeeded")
    assert service.restarts == ["dual-monitor"]
    assert done["detail"].startswith(
        'action: HTTP 200: {"service": "dual-monitor", "mode": "healthy"}; up and healthy'
    )
    assert done["ran"] == f"POST {target}/-/restart/dual-monitor"
    assert done["receiver"] == "ghost-remediate"
    assert done["remote"] == "127.0.0.1"
    assert done["user"] == ("(bearer token)" if scheme == "bearer" else "alertmanager")
    assert remediate.count("succeeded") == 1

    # Alertmanager sends the group again as soon as another alert joins it: the first alert is
    # recognised (same fingerprint and start) and not acted on twice.
    push_alerts(alertmanager, UNHEALTHY | {"instance": "second"})
    remediate.wait_for_audit("succeeded", count=2)
    remediate.wait_for_audit("duplicate")
    assert service.restarts == ["dual-monitor", "dual-monitor"]
    assert remediate.count("succeeded") == 2


def test_wrong_credentials_from_alertmanager_run_nothing(
    launch: Launcher, fake: tuple[FakeService, str], tmp_path: Path
) -> None:
    service, target = fake
    remediate = launch.remediate(remediate_yaml(target, http_rule(target)))
    wrong = tmp_path / "wrong-token"
    wrong.write_text("not-the-token-at-all-0123456789\n")
    alertmanager = launch.alertmanager(
        {
            "url": remediate.url + "/webhook",
            "http_config": {"authorization": {"type": "Bearer", "credentials_file": str(wrong)}},
        }
    )
    push_alerts(alertmanager, UNHEALTHY)
    wait_until(
        lambda: [line for line in remediate.lines() if line.get("msg") == "unauthorized"],
        timeout=20,
    )
    [refusal, *_] = [line for line in remediate.lines() if line.get("msg") == "unauthorized"]
    assert (refusal["remote"], refusal["reason"], refusal["level"]) == (
        "127.0.0.1",
        "invalid credentials",
        "warning",
    )
    time.sleep(0.5)
    assert service.restarts == []
    assert remediate.audit() == []
    assert remediate.count("succeeded") == remediate.count("failed") == 0


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer " + TOKEN[:-1],
        "Basic " + base64.b64encode(f"alertmanager:{TOKEN}".encode()).decode(),
        TOKEN,
    ],
    ids=["missing", "wrong-token", "basic-not-configured", "no-scheme"],
)
def test_missing_or_wrong_credentials_get_401(
    launch: Launcher, fake: tuple[FakeService, str], authorization: str | None
) -> None:
    service, target = fake
    remediate = launch.remediate(remediate_yaml(target, http_rule(target)))
    status, body = remediate.post(notification(alert()), authorization)
    assert (status, body) == (401, "401 Unauthorized\n")
    status, _ = remediate.post(notification(alert()))  # the right token still works
    assert status == 200
    remediate.wait_for_audit("succeeded")
    assert service.restarts == ["dual-monitor"]  # once: for the authorised request only
