"""Silences through Alertmanager's API v2, against a loopback server that answers as
Alertmanager does (the integration tests use the real one); failures are counted."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import trustme
from aiohttp import web

from ghost_remediate.config import AlertmanagerSpec, parse_config
from ghost_remediate.metrics import Metrics
from ghost_remediate.silences import Silencer, silence_body
from tests.conftest import ServeFn
from tests.support import start_app

from .test_remediate_config import GOOD


class FakeAlertmanager:
    def __init__(self) -> None:
        self.status = 200
        self.requests: list[tuple[str, str, str, Any]] = []
        self.app = web.Application()
        self.app.router.add_post("/api/v2/silences", self.create)
        self.app.router.add_delete("/api/v2/silence/{id}", self.expire)

    async def create(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(("POST", request.path, request.headers.get("Authorization", ""), body))
        if self.status != 200:
            return web.json_response("bad silence", status=self.status)
        return web.json_response({"silenceID": "abc-123"})

    async def expire(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        self.requests.append(("DELETE", request.path, auth, None))
        return web.Response(status=self.status)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def spec(url: str) -> AlertmanagerSpec:
    return AlertmanagerSpec(url, {"Authorization": "Bearer am-token"}, 2.0, None)


def test_the_body_is_an_equality_silence_from_now() -> None:
    now = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
    body = silence_body({"alertname": "A", "service": "s"}, 90.5, "why", now)
    assert body == {
        "matchers": [
            {"name": "alertname", "value": "A", "isRegex": False, "isEqual": True},
            {"name": "service", "value": "s", "isRegex": False, "isEqual": True},
        ],
        "startsAt": "2024-05-01T10:00:00.000Z",
        "endsAt": "2024-05-01T10:01:30.500Z",
        "createdBy": "ghost-remediate",
        "comment": "why",
    }


async def test_create_and_expire(serve: ServeFn, session: aiohttp.ClientSession) -> None:
    fake = FakeAlertmanager()
    url = await serve(fake.app)
    metrics = Metrics()
    silencer = Silencer(spec(url + "/"), metrics)
    assert await silencer.create(session, {"alertname": "A"}, 10, "c") == "abc-123"
    assert await silencer.expire(session, "abc-123")
    assert [(m, p, a) for m, p, a, _ in fake.requests] == [
        ("POST", "/api/v2/silences", "Bearer am-token"),
        ("DELETE", "/api/v2/silence/abc-123", "Bearer am-token"),
    ]
    for operation in ("create", "expire"):
        labels = {"operation": operation}
        assert (
            metrics.registry.get_sample_value("ghost_remediation_silence_errors_total", labels) == 0
        )


@pytest.mark.parametrize("status", [400, 500])
async def test_refusals_are_counted(
    serve: ServeFn, session: aiohttp.ClientSession, status: int
) -> None:
    fake = FakeAlertmanager()
    fake.status = status
    metrics = Metrics()
    silencer = Silencer(spec(await serve(fake.app)), metrics)
    assert await silencer.create(session, {"alertname": "A"}, 10, "c") is None
    assert not await silencer.expire(session, "abc-123")
    for operation in ("create", "expire"):
        labels = {"operation": operation}
        assert (
            metrics.registry.get_sample_value("ghost_remediation_silence_errors_total", labels) == 1
        )


def test_the_alertmanager_section() -> None:
    text = GOOD.replace(
        "rules:\n",
        "alertmanager:\n  url: http://127.0.0.1:9093\n  basic_auth: {username: u, password: p}\n"
        "rules:\n",
    )
    config = parse_config(text)
    assert config.alertmanager is not None
    assert config.alertmanager.url == "http://127.0.0.1:9093"
    assert config.alertmanager.headers == {"Authorization": "Basic dTpw"}
    assert config.alertmanager.timeout == 5.0
    assert parse_config(GOOD).alertmanager is None
    assert json.dumps(dict(config.alertmanager.headers))


async def test_over_tls_with_the_configured_ca(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    fake = FakeAlertmanager()
    runner, url = await start_app(fake.app, server_ctx)
    try:
        text = GOOD.replace(
            "rules:\n",
            f"alertmanager:\n  url: {url}\n  bearer_token: t\n"
            "  tls_config: {ca_file: ca.pem}\nrules:\n",
        )
        config = parse_config(text, "r.yml", tmp_path)
        assert config.alertmanager is not None
        metrics = Metrics()
        silencer = Silencer(config.alertmanager, metrics)
        assert await silencer.create(session, {"alertname": "A"}, 10, "c") == "abc-123"
        # Without the CA, the server's certificate is refused: counted, nothing raised.
        untrusted = Silencer(spec(url), metrics)
        assert await untrusted.create(session, {"alertname": "A"}, 10, "c") is None
        labels = {"operation": "create"}
        assert (
            metrics.registry.get_sample_value("ghost_remediation_silence_errors_total", labels) == 1
        )
        assert len(fake.requests) == 1
    finally:
        await runner.cleanup()
