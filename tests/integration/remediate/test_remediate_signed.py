"""Signed notifications against the real ghost-remediate process, signed as Grafana's webhook
contact point signs them (hex HMAC-SHA256 of ``TIMESTAMP:BODY``), with the secret from a
``!file``: accepted once; a bad, stale or replayed signature is a 401 and runs nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.unit.remediate.payloads import alert, notification

from .conftest import FakeService, Launcher, Remediate, http_rule, remediate_yaml

SECRET = "integration-hmac-secret-0123456789"


def post_signed(
    remediate: Remediate, body: bytes, timestamp: str, signature: str
) -> tuple[int, str]:
    request = urllib.request.Request(
        remediate.url + "/webhook",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Grafana-Alerting-Signature": signature,
            "X-Grafana-Alerting-Signature-Timestamp": timestamp,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def grafana_signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}:".encode() + body, hashlib.sha256).hexdigest()


def test_signed_notifications(
    launch: Launcher, fake: tuple[FakeService, str], tmp_path: Path
) -> None:
    service, target = fake
    (tmp_path / "hmac.secret").write_text(SECRET + "\n")
    auth = (
        "auth:\n  hmac:\n    secret: !file hmac.secret\n"
        "    timestamp_header: X-Grafana-Alerting-Signature-Timestamp\n"
    )
    remediate = launch.remediate(remediate_yaml(target, http_rule(target), auth))
    body = json.dumps(notification(alert())).encode()
    now = str(int(time.time()))

    wrong = grafana_signature("not-the-secret-at-all-0123456789", now, body)
    assert post_signed(remediate, body, now, wrong) == (401, "401 Unauthorized\n")
    stale = str(int(time.time()) - 400)
    assert post_signed(remediate, body, stale, grafana_signature(SECRET, stale, body))[0] == 401

    good = grafana_signature(SECRET, now, body)
    status, answer = post_signed(remediate, body, now, good)
    assert status == 200, answer
    [done] = remediate.wait_for_audit("succeeded")
    assert done["user"] == "(hmac signature)"
    assert post_signed(remediate, body, now, good)[0] == 401  # replayed

    reasons = [line["reason"] for line in remediate.lines() if line.get("msg") == "unauthorized"]
    assert reasons == ["invalid signature", "stale timestamp", "replayed signature"]
    assert service.restarts == ["dual-monitor"]
    assert remediate.count("succeeded") == 1
