"""The web app on a loopback port: authentication, payload checks, metrics, health, reload."""

from __future__ import annotations

import asyncio
import base64
import logging

import aiohttp
import bcrypt
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from ghost_remediate.auth import Authenticator
from ghost_remediate.config import parse_config
from ghost_remediate.engine import Remediator
from ghost_remediate.metrics import REMEDIATION_METRICS, Metrics
from ghost_remediate.web import create_app
from tests.conftest import ServeFn
from tests.unit.common.bcrypt_calls import instrument_checkpw

from .payloads import alert, notification

TOKEN = "0123456789abcdef-token"
PASSWORD = "correct horse battery staple"
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()


def config_text(target: str) -> str:
    return f"""\
auth:
  bearer_token: {TOKEN}
  basic_auth_users:
    alertmanager: '{HASH}'
rules:
  - name: restart
    match: {{service: dual-monitor}}
    match_re: {{alertname: 'GhostService(Down|Unhealthy)'}}
    placeholders: {{service: }}
    verify: false
    action: {{http: {{url: '{target}/-/restart/{{service}}'}}}}
"""


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Target:
    """The thing remediations call: records each request."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.app = web.Application()
        self.app.router.add_post("/-/restart/{service}", self.restart)

    async def restart(self, request: web.Request) -> web.Response:
        self.paths.append(request.path)
        return web.json_response({"ok": True})


@pytest.fixture
async def target(serve: ServeFn) -> tuple[Target, str]:
    found = Target()
    return found, await serve(found.app)


@pytest.fixture
async def app_url(serve: ServeFn, target: tuple[Target, str]) -> str:
    config = parse_config(config_text(target[1]))
    return await serve(create_app(Remediator(config, Metrics()), Authenticator(config)))


async def post(url: str, body: object, authorization: str | None) -> tuple[int, str, str]:
    headers = {"Authorization": authorization} if authorization else {}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url + "/webhook", json=body, headers=headers) as response,
    ):
        return response.status, await response.text(), response.headers.get("WWW-Authenticate", "")


async def wait_for(paths: list[str], count: int) -> None:
    async with asyncio.timeout(5):
        while len(paths) < count:  # noqa: ASYNC110 - polling a plain list
            await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer wrong-token-wrong-token",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        f"Token {TOKEN}",
        basic("alertmanager", "wrong"),
        basic("someone", PASSWORD),
        basic("alertmanager", ""),
        "Basic not-base64!",
        f"Basic {TOKEN}",
    ],
)
async def test_anything_but_the_token_or_a_user_is_refused_with_401_and_runs_nothing(
    app_url: str,
    target: tuple[Target, str],
    authorization: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "ghost_remediate.audit")
    status, _, challenge = await post(app_url, notification(alert()), authorization)
    assert status == 401
    assert challenge == 'Basic realm="ghost-remediate", charset="UTF-8"'
    await asyncio.sleep(0.1)
    assert target[0].paths == []
    [record] = caplog.records
    assert record.getMessage() == "unauthorized"
    assert record.remote == "127.0.0.1"  # type: ignore[attr-defined]
    assert TOKEN not in str(record.__dict__)
    assert PASSWORD not in str(record.__dict__)


@pytest.mark.parametrize(
    ("authorization", "user"),
    [(f"Bearer {TOKEN}", "(bearer token)"), (basic("alertmanager", PASSWORD), "alertmanager")],
)
async def test_the_token_or_a_user_may_post(
    app_url: str,
    target: tuple[Target, str],
    authorization: str,
    user: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "ghost_remediate.audit")
    status, text, _ = await post(app_url, notification(alert()), authorization)
    assert status == 200, text
    assert '"result": "started"' in text
    await wait_for(target[0].paths, 1)
    assert target[0].paths == ["/-/restart/dual-monitor"]
    assert caplog.records[0].user == user  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "the body is not JSON"),
        (
            [],
            "not an Alertmanager notification: body: Input should be a valid dictionary or "
            "instance of Notification",
        ),
        (
            {**notification(alert()), "version": "3"},
            "not an Alertmanager notification: version: Input should be '4'",
        ),
        (
            {**notification(alert()), "alerts": [{"status": "firing"}]},
            "not an Alertmanager notification: alerts.0.labels: Field required (and 1 more)",
        ),
        (
            notification({**alert(), "status": "pending"}),
            "not an Alertmanager notification: alerts.0.status: Input should be 'firing' or "
            "'resolved'",
        ),
        (
            {**notification(alert()), "alerts": [alert()] * 1001},
            "not an Alertmanager notification: alerts: List should have at most 1000 items "
            "after validation, not 1001",
        ),
    ],
)
async def test_what_is_no_notification_is_refused_with_400(
    app_url: str, target: tuple[Target, str], body: object, message: str
) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as session:
        kwargs: dict[str, object] = {"data": body} if isinstance(body, str) else {"json": body}
        async with session.post(app_url + "/webhook", headers=headers, **kwargs) as response:  # type: ignore[arg-type]
            assert response.status == 400
            assert await response.text() == message + "\n"
    assert target[0].paths == []


async def test_metrics_health_and_index(app_url: str, target: tuple[Target, str]) -> None:
    status, text, _ = await post(app_url, notification(alert(service="a;b")), f"Bearer {TOKEN}")
    assert (status, '"result": "no_rule"' in text) == (200, True)  # the rule wants dual-monitor
    async with aiohttp.ClientSession() as session:
        async with session.get(app_url + "/metrics") as response:
            assert response.status == 200
            text = await response.text()
        for path, body in (("/-/healthy", "Healthy.\n"), ("/-/ready", "Ready.\n")):
            async with session.get(app_url + path) as response:
                assert (response.status, await response.text()) == (200, body)
        async with session.get(app_url + "/") as response:
            assert "1 rules: restart" in await response.text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for metric in REMEDIATION_METRICS:
        assert metric.name.removesuffix("_total") in families, metric.name
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }
    assert "a;b" not in text
    # The rule's fixed service has every result series from the start.
    failed = (("action", "restart"), ("result", "failed"), ("service", "dual-monitor"))
    assert samples[("ghost_remediations_total", failed)] == 0


async def test_reload_needs_authentication(serve: ServeFn, target: tuple[Target, str]) -> None:
    config = parse_config(config_text(target[1]))
    calls: list[int] = []

    async def reload() -> str | None:
        calls.append(1)
        return None if len(calls) == 1 else "r.yml:3: rules: needs at least one rule"

    url = await serve(create_app(Remediator(config, Metrics()), Authenticator(config), reload))
    async with aiohttp.ClientSession() as session:
        async with session.post(url + "/-/reload") as response:
            assert response.status == 401
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with session.post(url + "/-/reload", headers=headers) as response:
            assert (response.status, await response.text()) == (200, "Config reloaded.\n")
        async with session.post(url + "/-/reload", headers=headers) as response:
            assert response.status == 500
            assert "needs at least one rule" in await response.text()
    assert len(calls) == 2


# -- basic auth: the shared implementation under the bearer token ----------------------------


@pytest.mark.parametrize("length", [73, 6000])
async def test_a_long_password_gets_401_not_500(
    app_url: str, target: tuple[Target, str], length: int
) -> None:
    """bcrypt 5 raises ValueError beyond 72 bytes; 6000 bytes is about the longest password
    whose header fits aiohttp's 8 KiB limit on a header field (beyond it: 400)."""
    status, _, challenge = await post(
        app_url, notification(alert()), basic("alertmanager", PASSWORD + "x" * length)
    )
    assert status == 401
    assert challenge.startswith("Basic ")
    assert target[0].paths == []


@pytest.fixture
async def served(serve: ServeFn, target: tuple[Target, str]) -> tuple[str, Authenticator]:
    """The app's URL and its authenticator."""
    config = parse_config(config_text(target[1]))
    authenticator = Authenticator(config)
    return await serve(create_app(Remediator(config, Metrics()), authenticator)), authenticator


async def test_an_unknown_user_goes_through_one_bcrypt_check(
    served: tuple[str, Authenticator], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, authenticator = served
    calls = instrument_checkpw(monkeypatch)
    assert (await post(url, notification(alert()), basic("someone", PASSWORD)))[0] == 401
    assert calls.hashes == [authenticator.basic.decoy]
    assert (await post(url, notification(alert()), basic("alertmanager", "wrong")))[0] == 401
    assert calls.hashes == [authenticator.basic.decoy, HASH.encode()]
    assert (await post(url, notification(alert()), f"Bearer {TOKEN}"))[0] == 200
    assert len(calls.hashes) == 2  # the token needs no bcrypt


async def test_concurrent_password_checks_are_bounded_and_a_flood_gets_429(
    served: tuple[str, Authenticator],
    target: tuple[Target, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, authenticator = served
    calls = instrument_checkpw(monkeypatch, hold=0.02)
    guesses = [basic("alertmanager" if i % 2 else f"user{i}", f"guess-{i}") for i in range(8)]
    answers = await asyncio.gather(*(post(url, notification(alert()), g) for g in guesses))
    assert [status for status, _, _ in answers] == [401] * 8
    assert len(calls.hashes) == 8
    assert 1 <= calls.peak <= authenticator.basic.max_checks == 1

    authenticator.basic.max_waiting = 2
    calls.hold = 0.3  # the first checks are still queued when the last requests come in
    flood = [basic("alertmanager", f"flood-{i}") for i in range(10)]
    statuses = [s for s, _, _ in await asyncio.gather(*(post(url, {}, f) for f in flood))]
    assert statuses.count(401) >= 2
    assert statuses.count(429) >= 1
    assert set(statuses) == {401, 429}
    assert target[0].paths == []
