"""Signed notifications (auth.hmac, Grafana's webhook HMAC): the signature, stale timestamps
and replays, on the unit and through the web app on a loopback port."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import aiohttp
import pytest

from ghost_remediate.auth import Authenticator, Signatures, sign
from ghost_remediate.config import HMACSpec, parse_config
from ghost_remediate.engine import Remediator
from ghost_remediate.metrics import Metrics
from ghost_remediate.web import create_app
from tests.conftest import ServeFn

from .payloads import alert, notification
from .test_policy import Clock
from .test_web import Target, config_text, wait_for

SECRET = "a-shared-secret-of-some-length"
SPEC = HMACSpec(SECRET.encode(), "X-Sig", "X-Ts", 300.0)


def unix_clock() -> Clock:
    clock = Clock()
    clock.now = 1_700_000_000.0
    return clock


def test_the_signature_is_grafanas() -> None:
    # hex HMAC-SHA256 of "TIMESTAMP:BODY", computed here independently of sign().
    body = b'{"alerts": []}'
    expected = hmac.new(SECRET.encode(), b"1700000000:" + body, hashlib.sha256).hexdigest()
    assert sign(SECRET.encode(), "1700000000", body) == expected
    assert len(expected) == 64
    assert expected == expected.lower()


def headers(signature: str, timestamp: str) -> dict[str, str]:
    return {"X-Sig": signature, "X-Ts": timestamp}


def test_checks() -> None:
    clock = unix_clock()
    signatures = Signatures(clock)
    body = b"{}"
    ts = str(int(clock.now))
    good = sign(SPEC.secret, ts, body)
    assert signatures.check(SPEC, headers(good, ts), body) is None
    assert signatures.check(SPEC, headers(good, ts), body) == "replayed signature"
    assert signatures.check(SPEC, headers(good.upper(), ts), body) == "replayed signature"
    assert signatures.check(SPEC, headers(good, ts), b"{ }") == "invalid signature"
    assert signatures.check(SPEC, headers("0" * 64, ts), body) == "invalid signature"
    assert signatures.check(SPEC, {"X-Ts": ts}, body) == "no signature"
    assert signatures.check(SPEC, {"X-Sig": good}, body) == "no timestamp"
    other = sign(b"another-secret-entirely", ts, body)
    assert signatures.check(SPEC, headers(other, ts), body) == "invalid signature"
    bad_ts = "soon"
    assert signatures.check(SPEC, headers(sign(SPEC.secret, bad_ts, body), bad_ts), body) == (
        "invalid timestamp"
    )
    for offset, verdict in [(-301, "stale timestamp"), (301, "stale timestamp"), (-300, None)]:
        when = str(int(clock.now) + offset)
        result = signatures.check(SPEC, headers(sign(SPEC.secret, when, body), when), body)
        assert result == verdict, offset


def test_a_signature_is_forgotten_once_its_timestamp_is_stale_anyway() -> None:
    clock = unix_clock()
    signatures = Signatures(clock)
    ts = str(int(clock.now))
    good = sign(SPEC.secret, ts, b"{}")
    assert signatures.check(SPEC, headers(good, ts), b"{}") is None
    clock.now += 301
    assert signatures.check(SPEC, headers(good, ts), b"{}") == "stale timestamp"
    assert len(signatures._seen) == 0


def signed_config(target: str) -> str:
    return config_text(target).replace(
        "auth:\n",
        f"auth:\n  hmac: {{secret: {SECRET}, timestamp_header: X-Grafana-Alerting-Timestamp}}\n",
    )


@pytest.fixture
async def signed_app(serve: ServeFn) -> tuple[Target, str]:
    target = Target()
    config = parse_config(signed_config(await serve(target.app)))
    assert config.hmac is not None
    assert config.hmac.header == "X-Grafana-Alerting-Signature"
    assert config.hmac.tolerance == 300.0
    return target, await serve(create_app(Remediator(config, Metrics()), Authenticator(config)))


async def post_signed(url: str, body: bytes, signature: str, timestamp: str) -> int:
    sent = {
        "Content-Type": "application/json",
        "X-Grafana-Alerting-Signature": signature,
        "X-Grafana-Alerting-Timestamp": timestamp,
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(url + "/webhook", data=body, headers=sent) as response,
    ):
        return response.status


async def test_signed_notifications_through_the_app(signed_app: tuple[Target, str]) -> None:
    target, url = signed_app
    body = json.dumps(notification(alert())).encode()
    now = str(int(time.time()))
    good = sign(SECRET.encode(), now, body)
    assert await post_signed(url, body, good, now) == 200
    await wait_for(target.paths, 1)
    assert await post_signed(url, body, good, now) == 401  # replayed
    stale = str(int(time.time()) - 301)
    assert await post_signed(url, body, sign(SECRET.encode(), stale, body), stale) == 401
    other = json.dumps(notification(alert(fingerprint="other"))).encode()
    assert await post_signed(url, other, good, now) == 401  # signature of another body
    assert target.paths == ["/-/restart/dual-monitor"]
