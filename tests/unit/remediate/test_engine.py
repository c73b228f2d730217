"""The remediator's decisions: start, busy, cooldown, limit, refused, duplicate, resolved; the
background remediation and its accounting. Actions are stubbed; the clock is fake."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping

import pytest

from ghost_remediate.actions import Outcome
from ghost_remediate.config import Config, Rule, parse_config
from ghost_remediate.engine import Remediator, Requester
from ghost_remediate.metrics import Metrics
from ghost_remediate.payload import parse_notification

from .payloads import alert, notification

CONFIG = """\
auth: {bearer_token: 0123456789abcdef-token}
verify: {probe_url: 'http://127.0.0.1:1/probe'}
defaults: {cooldown: 5m, max_attempts: 2, window: 1h}
rules:
  - name: restart
    match_re: {alertname: 'GhostService(Down|Unhealthy)'}
    placeholders: {service: }
    action: {http: {url: 'http://127.0.0.1:1/-/restart/{service}'}}
"""
WHO = Requester("127.0.0.9", "(bearer token)")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Stubbed(Remediator):
    """Acts and verifies by the test's say-so."""

    def __init__(self, config: Config, clock: Clock) -> None:
        super().__init__(config, Metrics(), clock)
        self.acted: list[dict[str, str]] = []
        self.release = asyncio.Event()
        self.action_ok = True
        self.verify_ok = True

    async def act(self, rule: Rule, values: Mapping[str, str]) -> Outcome:
        self.acted.append(dict(values))
        await self.release.wait()
        return Outcome(self.action_ok, "HTTP 200" if self.action_ok else "HTTP 500")

    async def check(self, rule: Rule, service: str) -> Outcome:
        return Outcome(self.verify_ok, "up and healthy" if self.verify_ok else "still down")

    async def settle(self) -> None:
        self.release.set()
        while self.tasks:
            await asyncio.gather(*self.tasks)

    def count(self, service: str, result: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "ghost_remediations_total",
            {"service": service, "action": "restart", "result": result},
        )
        return value or 0.0


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def remediator(clock: Clock) -> AsyncIterator[Stubbed]:
    stubbed = Stubbed(parse_config(CONFIG), clock)
    await stubbed.start()
    yield stubbed
    await stubbed.stop()


def post(remediator: Remediator, *alerts: dict[str, object]) -> list[str]:
    decisions = remediator.handle(parse_notification(notification(*alerts)), WHO)
    return [d.result for d in decisions]


async def test_a_firing_alert_starts_a_remediation_that_is_counted_when_it_ends(
    remediator: Stubbed, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "ghost_remediate.audit")
    assert post(remediator, alert()) == ["started"]
    await asyncio.sleep(0)
    assert remediator.acted == [{"service": "dual-monitor"}]
    assert remediator.policy.busy("dual-monitor")
    in_progress = {"service": "dual-monitor"}
    registry = remediator.metrics.registry
    assert registry.get_sample_value("ghost_remediations_in_progress", in_progress) == 1
    await remediator.settle()
    assert remediator.count("dual-monitor", "succeeded") == 1
    assert registry.get_sample_value("ghost_remediations_in_progress", in_progress) == 0
    assert (
        registry.get_sample_value(
            "ghost_remediation_duration_seconds_count",
            {"service": "dual-monitor", "action": "restart", "result": "succeeded"},
        )
        == 1
    )
    assert not remediator.policy.busy("dual-monitor")
    started, finished = [r for r in caplog.records if r.name == "ghost_remediate.audit"]
    assert started.result == "started"  # type: ignore[attr-defined]
    assert started.ran == "POST http://127.0.0.1:1/-/restart/dual-monitor"  # type: ignore[attr-defined]
    assert finished.result == "succeeded"  # type: ignore[attr-defined]
    assert finished.detail == "action: HTTP 200; up and healthy"  # type: ignore[attr-defined]
    for record in (started, finished):
        assert record.remote == "127.0.0.9"  # type: ignore[attr-defined]
        assert record.user == "(bearer token)"  # type: ignore[attr-defined]
        assert record.alertname == "GhostServiceUnhealthy"  # type: ignore[attr-defined]
        assert record.fingerprint == "f00d"  # type: ignore[attr-defined]


async def test_a_repeated_notification_runs_nothing_twice(remediator: Stubbed) -> None:
    assert post(remediator, alert()) == ["started"]
    assert post(remediator, alert()) == ["duplicate"]  # while in progress
    await remediator.settle()
    assert post(remediator, alert()) == ["duplicate"]  # and once done
    assert post(remediator, alert(), alert()) == ["duplicate", "duplicate"]
    assert len(remediator.acted) == 1
    assert remediator.count("dual-monitor", "succeeded") == 1


async def test_another_alert_of_a_busy_service_is_skipped(remediator: Stubbed) -> None:
    assert post(
        remediator,
        alert("GhostServiceUnhealthy", fingerprint="a"),
        alert("GhostServiceDown", fingerprint="b"),
        alert("GhostServiceDown", service="status-api", fingerprint="c"),
    ) == ["started", "skipped_busy", "started"]
    assert remediator.count("dual-monitor", "skipped_busy") == 1
    await remediator.settle()
    # A skipped alert is not remembered: its next repeat may act, once the cooldown is over.
    assert post(remediator, alert("GhostServiceDown", fingerprint="b")) == ["skipped_cooldown"]


async def test_cooldown_then_limit(remediator: Stubbed, clock: Clock) -> None:
    assert post(remediator, alert(fingerprint="a")) == ["started"]
    await remediator.settle()
    clock.now += 299
    assert post(remediator, alert(fingerprint="b")) == ["skipped_cooldown"]
    clock.now += 1
    assert post(remediator, alert(fingerprint="b")) == ["started"]
    await remediator.settle()
    clock.now += 300
    assert post(remediator, alert(fingerprint="c")) == ["skipped_limit"]  # 2 per hour
    clock.now = 3600
    assert post(remediator, alert(fingerprint="c")) == ["started"]
    await remediator.settle()
    assert remediator.count("dual-monitor", "skipped_cooldown") == 1
    assert remediator.count("dual-monitor", "skipped_limit") == 1
    assert remediator.count("dual-monitor", "succeeded") == 3


@pytest.mark.parametrize(
    "value",
    ["--flag", "../../etc", "a;rm -rf /", "$(x)", "a b", "dual-monitor\n", "x" * 300],
)
async def test_a_refused_value_runs_nothing_and_is_counted(remediator: Stubbed, value: str) -> None:
    assert post(remediator, alert(service=value)) == ["refused"]
    assert post(remediator, alert(service=value)) == ["duplicate"]
    await remediator.settle()
    assert remediator.acted == []
    assert remediator.count("", "refused") == 1  # a refused value never names a series
    assert not remediator.policy.busy(value)


async def test_refused_when_the_service_label_is_missing(remediator: Stubbed) -> None:
    [decision] = remediator.handle(parse_notification(notification(alert(service=None))), WHO)
    assert (decision.result, decision.detail) == (
        "refused",
        "service='': the alert has no label service",
    )
    assert remediator.count("", "refused") == 1


async def test_resolved_alerts_and_unmatched_alerts_run_nothing(remediator: Stubbed) -> None:
    assert post(remediator, alert(status="resolved")) == ["resolved"]
    assert post(remediator, alert("GhostServiceDegraded")) == ["no_rule"]
    await remediator.settle()
    assert remediator.acted == []
    assert remediator.count("dual-monitor", "succeeded") == 0


async def test_a_resolved_alert_is_forgotten(remediator: Stubbed, clock: Clock) -> None:
    assert post(remediator, alert()) == ["started"]
    await remediator.settle()
    assert post(remediator, alert(status="resolved")) == ["resolved"]
    clock.now += 300
    assert post(remediator, alert()) == ["started"]


@pytest.mark.parametrize(
    ("action_ok", "verify_ok", "detail"),
    [
        (False, True, "action: HTTP 500"),
        (True, False, "action: HTTP 200; still down"),
    ],
)
async def test_a_failed_action_or_verification_is_a_failure(
    remediator: Stubbed,
    action_ok: bool,
    verify_ok: bool,
    detail: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "ghost_remediate.audit")
    remediator.action_ok, remediator.verify_ok = action_ok, verify_ok
    post(remediator, alert())
    await remediator.settle()
    assert remediator.count("dual-monitor", "failed") == 1
    assert remediator.count("dual-monitor", "succeeded") == 0
    assert caplog.records[-1].detail == detail  # type: ignore[attr-defined]
    assert remediator.handled.get(("f00d", "2024-05-01T10:00:00.000Z")) == "failed"


async def test_stop_cancels_running_remediations(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "ghost_remediate.audit")
    remediator = Stubbed(parse_config(CONFIG), clock)
    await remediator.start()
    post(remediator, alert())
    await asyncio.sleep(0)
    assert remediator.tasks
    await remediator.stop()
    assert not remediator.tasks
    assert not remediator.policy.busy("dual-monitor")
    assert remediator.count("dual-monitor", "failed") == 1
    assert caplog.records[-1].detail == "cancelled at shutdown"  # type: ignore[attr-defined]


def test_series_of_a_fixed_service_exist_from_the_start() -> None:
    config = parse_config(
        CONFIG.replace("    match_re:", "    match: {service: status-api}\n    match_re:")
    )
    remediator = Remediator(config, Metrics())
    for result in ("succeeded", "failed", "skipped_limit", "refused"):
        assert (
            remediator.metrics.registry.get_sample_value(
                "ghost_remediations_total",
                {"service": "status-api", "action": "restart", "result": result},
            )
            == 0
        )


async def test_a_resolved_alert_cancels_its_running_remediation(
    remediator: Stubbed, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "ghost_remediate.audit")
    assert post(remediator, alert(), alert(service="status-api", fingerprint="other")) == [
        "started",
        "started",
    ]
    await asyncio.sleep(0)
    [decision] = remediator.handle(parse_notification(notification(alert(status="resolved"))), WHO)
    assert (decision.result, decision.detail) == (
        "resolved",
        "cancelling the running remediation",
    )
    async with asyncio.timeout(5):
        while len(remediator.tasks) > 1:  # noqa: ASYNC110 - the cancelled task ends
            await asyncio.sleep(0)
    assert len(remediator.tasks) == 1  # the other alert's remediation goes on
    assert remediator.count("dual-monitor", "cancelled") == 1
    assert remediator.count("dual-monitor", "failed") == 0
    assert not remediator.policy.busy("dual-monitor")
    [record] = [r for r in caplog.records if getattr(r, "result", "") == "cancelled"]
    assert record.detail == "cancelled: the alert resolved"  # type: ignore[attr-defined]
    await remediator.settle()
    assert remediator.count("status-api", "succeeded") == 1
    # Resolving once it ended cancels nothing.
    [later] = remediator.handle(
        parse_notification(
            notification(alert(service="status-api", fingerprint="other", status="resolved"))
        ),
        WHO,
    )
    assert (later.result, later.detail) == ("resolved", "")
