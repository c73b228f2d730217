"""The global limit across services and dry runs (``--dry-run`` and a rule's ``dry_run``)."""

from __future__ import annotations

import logging

import pytest

from ghost_remediate.config import parse_config
from ghost_remediate.engine import Remediator
from ghost_remediate.metrics import Metrics

from .payloads import alert
from .test_engine import CONFIG, Clock, Stubbed, clock, post

__all__ = ["clock"]  # the fixture


def global_config(limit: int, extra: str = "") -> str:
    return (
        CONFIG.replace("cooldown: 5m, max_attempts: 2", "cooldown: 0s, max_attempts: 10")
        .replace("rules:\n", f"max_actions_per_hour: {limit}\nrules:\n")
        .replace("    placeholders:", f"{extra}    placeholders:")
    )


async def test_the_global_limit_counts_every_service_over_a_sliding_hour(clock: Clock) -> None:
    remediator = Stubbed(parse_config(global_config(3)), clock)
    await remediator.start()
    try:
        for i, service in enumerate(["a", "b", "c"]):
            clock.now = i * 600.0
            assert post(remediator, alert(service=service, fingerprint=service)) == ["started"]
            await remediator.settle()
        clock.now = 3599.0
        assert post(remediator, alert(service="d", fingerprint="d")) == ["skipped_global_limit"]
        assert remediator.count("d", "skipped_global_limit") == 1
        # Not remembered as handled: the next repeat decides again.
        assert post(remediator, alert(service="d", fingerprint="d")) == ["skipped_global_limit"]
        clock.now = 3600.0  # the first start (at 0) left the window
        assert post(remediator, alert(service="d", fingerprint="d")) == ["started"]
        await remediator.settle()
        assert post(remediator, alert(service="e", fingerprint="e")) == ["skipped_global_limit"]
        assert [values["service"] for values in remediator.acted] == ["a", "b", "c", "d"]
    finally:
        await remediator.stop()


async def test_a_service_reason_comes_before_the_global_limit(clock: Clock) -> None:
    remediator = Stubbed(parse_config(global_config(1)), clock)
    await remediator.start()
    try:
        assert post(remediator, alert(service="a", fingerprint="1")) == ["started"]
        assert post(remediator, alert(service="a", fingerprint="2")) == ["skipped_busy"]
        assert post(remediator, alert(service="b", fingerprint="3")) == ["skipped_global_limit"]
    finally:
        await remediator.stop()


def test_the_global_limit_defaults_to_ten() -> None:
    assert parse_config(CONFIG).max_actions_per_hour == 10


@pytest.mark.parametrize("flag", [True, False], ids=["--dry-run", "rule-dry_run"])
async def test_a_dry_run_decides_and_audits_but_acts_on_nothing(
    clock: Clock, caplog: pytest.LogCaptureFixture, flag: bool
) -> None:
    caplog.set_level(logging.INFO, "ghost_remediate.audit")
    text = global_config(10, "" if flag else "    dry_run: true\n")
    remediator = Stubbed(parse_config(text), clock)
    remediator.dry_run = flag
    await remediator.start()
    try:
        assert post(remediator, alert()) == ["dry_run"]
        assert post(remediator, alert()) == ["duplicate"]
        assert post(remediator, alert(service="--bad", fingerprint="x")) == ["refused"]
        await remediator.settle()
        assert remediator.acted == []
        assert not remediator.policy.busy("dual-monitor")
        assert remediator.count("dual-monitor", "dry_run") == 1
        assert (
            remediator.metrics.registry.get_sample_value(
                "ghost_remediations_in_progress", {"service": "dual-monitor"}
            )
            == 0
        )
        [record] = [r for r in caplog.records if getattr(r, "result", "") == "dry_run"]
        assert record.ran == "POST http://127.0.0.1:1/-/restart/dual-monitor"  # type: ignore[attr-defined]
        assert record.dry_run is True  # type: ignore[attr-defined]
        assert record.service == "dual-monitor"  # type: ignore[attr-defined]
    finally:
        await remediator.stop()


async def test_a_dry_run_obeys_the_policy_and_leaves_it_alone(clock: Clock) -> None:
    remediator = Stubbed(parse_config(global_config(1)), clock)
    await remediator.start()
    try:
        assert post(remediator, alert(service="a", fingerprint="1")) == ["started"]
        remediator.dry_run = True
        # Held back as a real remediation would be...
        assert post(remediator, alert(service="a", fingerprint="2")) == ["skipped_busy"]
        assert post(remediator, alert(service="b", fingerprint="3")) == ["skipped_global_limit"]
        await remediator.settle()
        clock.now = 3600.0
        assert post(remediator, alert(service="b", fingerprint="3")) == ["dry_run"]
        # ...and a dry run takes nothing from the limit.
        remediator.dry_run = False
        assert post(remediator, alert(service="c", fingerprint="4")) == ["started"]
    finally:
        await remediator.stop()


def test_series_of_the_new_results_exist_from_the_start() -> None:
    config = parse_config(
        CONFIG.replace("    match_re:", "    match: {service: status-api}\n    match_re:")
    )
    registry = Remediator(config, Metrics()).metrics.registry
    for result in ("cancelled", "skipped_global_limit", "dry_run"):
        labels = {"service": "status-api", "action": "restart", "result": result}
        assert registry.get_sample_value("ghost_remediations_total", labels) == 0
