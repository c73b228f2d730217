"""Basic auth of the real ghost-remediate process: a password bcrypt cannot take is a 401, never
a 500, and the process keeps serving."""

from __future__ import annotations

import base64

import bcrypt

from tests.unit.remediate.payloads import alert, notification

from .conftest import FakeService, Launcher, http_rule, remediate_yaml

PASSWORD = "integration password"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_long_passwords_are_refused_cleanly(
    launch: Launcher, fake: tuple[FakeService, str]
) -> None:
    service, target = fake
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    auth = f"auth:\n  basic_auth_users:\n    alertmanager: '{hashed}'\n"
    remediate = launch.remediate(remediate_yaml(target, http_rule(target), auth))
    for length in (73, 6000):  # over bcrypt's 72 bytes; about the longest header aiohttp takes
        status, body = remediate.post(
            notification(alert()), basic("alertmanager", PASSWORD + "x" * length)
        )
        assert (status, body) == (401, "401 Unauthorized\n"), length
        status, _ = remediate.post(notification(alert()), basic("nobody", "y" * length))
        assert status == 401
    # 10 KiB: the header is longer than aiohttp's 8 KiB limit on a field, so the request is
    # refused before any handler runs (400), never with a 500.
    status, _ = remediate.post(notification(alert()), basic("alertmanager", "z" * 10240))
    assert status == 400
    status, _ = remediate.post(notification(alert()), basic("alertmanager", PASSWORD))
    assert status == 200
    remediate.wait_for_audit("succeeded")
    assert service.restarts == ["dual-monitor"]
