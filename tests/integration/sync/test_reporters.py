"""Reporters against a real loopback server: agreement, the timing tolerance, bad answers."""

from __future__ import annotations

import asyncio
import logging

import pytest

from ghost_exporter.config import Config, parse_config
from ghost_exporter.probes import ProbeContext
from ghost_exporter.probes.timeout import run_probe
from ghost_exporter.store import ResultStore
from tests.integration.sync.fakeghost import FakeGhost
from tests.integration.sync.scrape import sample_value


def _config(base: str, services: list[str], reporter_interval: str = "10s") -> Config:
    lines = ["services:"]
    for name in services:
        lines += [
            f"  - name: {name}",
            "    interval: 10s",
            "    timeout: 2s",
            f"    http: {{url: '{base}/health/{name}', health_field: status}}",
        ]
    lines += [
        "reporters:",
        "  - name: status-api",
        f"    interval: {reporter_interval}",
        "    timeout: 200ms" if reporter_interval.endswith("ms") else "    timeout: 2s",
        f"    http: {{url: '{base}/api/services/status'}}",
    ]
    return parse_config("\n".join(lines) + "\n")


class Harness:
    """A store fed by real probes, in the order a test chooses."""

    def __init__(self, config: Config, ctx: ProbeContext) -> None:
        self.config = config
        self.ctx = ctx
        self.store = ResultStore()
        self.store.sync(config.targets)

    async def probe(self, *names: str) -> None:
        for name in names:
            target = self.config.by_name[name]
            self.store.record(target, await run_probe(target, self.ctx))

    def value(self, metric: str, **labels: str) -> float | None:
        return sample_value(self.store.text(), metric, **labels)

    def in_sync(self, service: str) -> float | None:
        return self.value("ghost_monitor_in_sync", reporter="status-api", service=service)


async def test_claims_agree_and_disagree_with_what_the_exporter_sees(
    ghost: tuple[FakeGhost, str], ctx: ProbeContext
) -> None:
    fake, base = ghost
    services = ["a", "b", "c", "d"]
    fake.health = {"a": "healthy", "b": "down", "c": "unhealthy", "d": "degraded"}
    fake.claims = {"a": "healthy", "b": "healthy", "c": "unhealthy", "d": "ok"}
    h = Harness(_config(base, services), ctx)
    await h.probe(*services, "status-api")
    assert h.value("ghost_reporter_up", reporter="status-api") == 1.0
    assert h.in_sync("a") == 1.0
    assert h.in_sync("c") == 1.0  # claimed unhealthy, answering unhealthy
    assert h.in_sync("d") is None  # claimed healthy (ok), degraded: settled at the next probe
    # a claim that disagrees is settled by the exporter's next probe of the service
    assert h.in_sync("b") is None
    await h.probe(*services)
    assert h.in_sync("b") == 0.0  # down, claimed healthy
    assert h.in_sync("d") == 0.0
    assert h.in_sync("a") == 1.0
    reported = h.value("ghost_reported_health", reporter="status-api", service="b", state="healthy")
    assert reported == 1.0
    assert h.value("ghost_reported_health", service="d", state="healthy") == 1.0
    assert h.value("ghost_reported_health", service="d", state="degraded") == 0.0


async def test_down_service_agrees_only_with_unhealthy(
    ghost: tuple[FakeGhost, str], ctx: ProbeContext
) -> None:
    fake, base = ghost
    fake.health = {"x": "down", "y": "down", "z": "down"}
    fake.claims = {"x": "unhealthy", "y": "down", "z": "degraded"}
    h = Harness(_config(base, ["x", "y", "z"]), ctx)
    await h.probe("x", "y", "z", "status-api", "x", "y", "z")
    assert h.in_sync("x") == 1.0
    assert h.in_sync("y") == 1.0  # "down" is a claim of unhealthy
    assert h.in_sync("z") == 0.0


async def test_a_change_just_before_the_read_does_not_flap(
    ghost: tuple[FakeGhost, str], ctx: ProbeContext
) -> None:
    fake, base = ghost
    fake.health = {"a": "healthy", "b": "healthy"}
    fake.claims = {"a": "healthy", "b": "healthy"}
    h = Harness(_config(base, ["a", "b"]), ctx)
    await h.probe("a", "b", "status-api")
    assert (h.in_sync("a"), h.in_sync("b")) == (1.0, 1.0)
    # a breaks; the reporter notices before the exporter's next probe
    fake.health["a"] = "unhealthy"
    fake.claims["a"] = "unhealthy"
    await h.probe("status-api")
    assert h.in_sync("a") == 1.0
    await h.probe("a")
    assert h.in_sync("a") == 1.0
    # b breaks; the exporter notices before the reporter does
    fake.health["b"] = "down"
    await h.probe("b", "status-api")
    assert h.in_sync("b") == 1.0
    fake.claims["b"] = "unhealthy"
    await h.probe("status-api", "b")
    assert h.in_sync("b") == 1.0


async def test_a_claim_that_stays_wrong_is_out_of_sync_after_one_interval(
    ghost: tuple[FakeGhost, str], ctx: ProbeContext, caplog: pytest.LogCaptureFixture
) -> None:
    fake, base = ghost
    fake.health = {"a": "healthy"}
    fake.claims = {"a": "healthy"}
    h = Harness(_config(base, ["a"], reporter_interval="300ms"), ctx)
    await h.probe("a", "status-api")
    assert h.in_sync("a") == 1.0
    fake.health["a"] = "down"  # the reporter is frozen on healthy
    await h.probe("a", "status-api")
    assert h.in_sync("a") == 1.0  # healthy was seen within the last interval
    await asyncio.sleep(0.4)
    caplog.set_level(logging.INFO, logger="ghost_exporter.targets")
    await h.probe("a", "status-api", "a")
    assert h.in_sync("a") == 0.0
    out = [r for r in caplog.records if r.getMessage() == "monitor out of sync"]
    assert len(out) == 1
    assert out[0].__dict__["service"] == "a"
    await h.probe("status-api", "a")
    assert len([r for r in caplog.records if r.getMessage() == "monitor out of sync"]) == 1
    fake.claims["a"] = "down"
    await h.probe("status-api")
    assert h.in_sync("a") == 1.0
    assert any(r.getMessage() == "monitor back in sync" for r in caplog.records)


async def test_garbage_answer_is_reporter_down_and_metrics_still_render(
    ghost: tuple[FakeGhost, str], ctx: ProbeContext
) -> None:
    fake, base = ghost
    fake.claims = {"a": "healthy"}
    h = Harness(_config(base, ["a"]), ctx)
    await h.probe("a", "status-api", "a")
    assert h.in_sync("a") == 1.0
    for garbage in ("<html>oops</html>", '{"services": 42}', '{"other": {}}', "[" * 100_000):
        fake.garbage = garbage
        await h.probe("status-api")
        assert h.value("ghost_reporter_up", reporter="status-api") == 0.0
        assert h.in_sync("a") is None
        assert h.value("ghost_service_up", service="a") == 1.0
    fake.garbage = None
    await h.probe("status-api")
    assert h.value("ghost_reporter_up", reporter="status-api") == 1.0


async def test_unmatched_services_are_counted_both_sides_and_logged_on_change(
    ghost: tuple[FakeGhost, str], ctx: ProbeContext, caplog: pytest.LogCaptureFixture
) -> None:
    fake, base = ghost
    fake.claims = {"a": "healthy", "ghost-only": "healthy", "another": "down"}
    h = Harness(_config(base, ["a", "b"]), ctx)
    caplog.set_level(logging.INFO, logger="ghost_exporter.targets")
    await h.probe("a", "b", "status-api", "status-api")
    assert h.value("ghost_reporter_unmatched_services", side="reporter") == 2.0
    assert h.value("ghost_reporter_unmatched_services", side="exporter") == 1.0
    assert h.value("ghost_reported_health", service="ghost-only", state="healthy") is None
    assert h.in_sync("b") is None
    messages = [(r.getMessage(), r.__dict__.get("services")) for r in caplog.records]
    assert (
        messages.count(
            ("reporter lists services the exporter does not probe", "another,ghost-only")
        )
        == 1
    )
    assert messages.count(("reporter leaves out services the exporter probes", "b")) == 1
    fake.claims["b"] = "healthy"
    await h.probe("status-api")
    assert h.value("ghost_reporter_unmatched_services", side="exporter") == 0.0
